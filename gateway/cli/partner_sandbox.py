"""`gateway partner-sandbox serve`: the reference partner server, a bank in its own process that the
gateway reaches in push mode (docs/partner-push.md), with configurable faults."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli.common import CliError


@click.group(name="partner-sandbox")
def command() -> None:
    """The reference partner server (plays a bank in push mode)."""


@command.command(name="serve")
@click.option("--port", type=click.IntRange(1, 65535), required=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/partner-sandbox"),
    show_default=True,
    help="Its SM2 key and certificate (identity.json says what to register at the gateway).",
)
@click.option(
    "--gateway-public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="PEM of the gateway's SM2 public key: requests not signed by it are refused.",
)
@click.option(
    "--gateway-url", default=None, help="Gateway base URL for decision callbacks (none: no callbacks)."
)
@click.option("--code", default="PUSH-BANK", show_default=True, help="Institution code.")
@click.option("--name", default="推送示范银行股份有限公司", show_default=True)
@click.option(
    "--review", is_flag=True, help="Review submissions (decide after --review-delay) instead of approving."
)
@click.option("--review-delay", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--no-letter", is_flag=True, help="Return guarantees without a letter PDF.")
@click.option("--refuse-issue", is_flag=True, help="Refuse every issuance (the gateway refunds).")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    help="name=value[@op,op]: latency, error_rate, timeout_rate, timeout_s, drop_rate, "
    "duplicate_callbacks, out_of_order_callbacks, seed (repeatable).",
)
def serve(
    port: int, host: str, state_dir: Path, gateway_public_key: Path, gateway_url: str | None,
    code: str, name: str, review: bool, review_delay: float, no_letter: bool, refuse_issue: bool,
    faults: tuple[str, ...],
) -> None:  # fmt: skip
    """Serve the institution side of the push protocol."""
    import uvicorn

    from gateway.composition import build_partner_sandbox

    try:
        app = build_partner_sandbox(
            state_dir=state_dir,
            gateway_public_key_pem=gateway_public_key.read_bytes(),
            code=code,
            name=name,
            review=review,
            review_delay_s=review_delay,
            gateway_url=gateway_url,
            render_letter=not no_letter,
            refuse_issue=refuse_issue,
            faults=faults,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    click.echo(
        f"partner sandbox {code} listening on http://{host}:{port} (identity: {state_dir}/identity.json)"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
