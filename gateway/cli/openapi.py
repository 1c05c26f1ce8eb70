"""`gateway openapi [--check]`: write openapi/openapi.json, or fail when it is stale."""

from __future__ import annotations

import sys

import click

from gateway.openapi_spec import SPEC_PATH, render_openapi


@click.command(name="openapi")
@click.option("--check", is_flag=True, help="Exit 1 if openapi/openapi.json differs from the app.")
def command(check: bool) -> None:
    """Write (or check) the published OpenAPI spec."""
    rendered = render_openapi()
    if check:
        current = SPEC_PATH.read_text(encoding="utf-8") if SPEC_PATH.exists() else ""
        if current != rendered:
            click.echo(f"{SPEC_PATH} is stale: run `gateway openapi` and commit it", err=True)
            sys.exit(1)
        click.echo(f"{SPEC_PATH} is up to date")
        return
    SPEC_PATH.parent.mkdir(parents=True, exist_ok=True)
    SPEC_PATH.write_text(rendered, encoding="utf-8")
    click.echo(f"wrote {SPEC_PATH}")
