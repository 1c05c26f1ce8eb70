"""`gateway serve [--demo]`: upgrade the schema, optionally seed the demo, and serve HTTP."""

from __future__ import annotations

import click
import uvicorn

from gateway.app import create_app
from gateway.cli.common import CliError, migrate_or_exit, settings_from_env
from gateway.composition import build_container
from gateway.http.logging import configure_logging


@click.command(name="serve")
@click.option(
    "--demo", is_flag=True, help="Seed demo data and write credentials.json into the data directory."
)
@click.option("--listen", default=None, help="host:port (default: GATEWAY_LISTEN or 127.0.0.1:8000).")
def command(demo: bool, listen: str | None) -> None:
    """Run the gateway."""
    settings = settings_from_env()
    if listen is not None:
        try:
            settings = settings.model_copy(
                update={
                    "listen": type(settings)
                    .model_validate({**settings.model_dump(), "listen": listen})
                    .listen
                }
            )
        except ValueError as exc:
            raise CliError(f"--listen: {listen!r} is not host:port") from exc
    configure_logging(settings.log_level)
    migrate_or_exit(settings)
    container = build_container(settings)
    if demo:
        from gateway.demo.seed import seed_demo

        credentials_path = seed_demo(container)
        click.echo(f"demo data seeded; credentials: {credentials_path}")
    app = create_app(container, background_jobs=True)
    base = settings.base_url
    click.echo(
        f"gateway listening on {base}\n  health:   {base}/healthz\n  API docs: {base}/docs\n"
        f"  OpenAPI:  {base}/openapi.json\n  metrics:  {base}/metrics"
    )
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    finally:
        container.close()
