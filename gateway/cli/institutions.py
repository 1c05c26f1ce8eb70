"""`gateway institutions decide`: a reviewing institution's decision (the sandbox insurer reviews)."""

from __future__ import annotations

import click

from gateway.cli.common import CliError, migrate_or_exit, settings_from_env


@click.group(name="institutions")
def command() -> None:
    """Institutions: decisions for reviewing institutions (sandbox insurer)."""


@command.command(name="decide")
@click.option("--institution", "institution_code", required=True, help="Institution code, e.g. SBX-INSURER.")
@click.option("--application", "application_id", required=True, help="Application id (ap_...).")
@click.option("--approve/--reject", required=True)
@click.option("--reason", default=None, help="Why (shown to the bidder).")
def decide_command(institution_code: str, application_id: str, approve: bool, reason: str | None) -> None:
    """Approve or reject an application under review."""
    from gateway.broker.workflow import Broker
    from gateway.composition import build_container
    from gateway.errors import GatewayError

    settings = settings_from_env()
    migrate_or_exit(settings)
    container = build_container(settings)
    try:
        Broker.from_container(container).decide(
            institution_code=institution_code, application_id=application_id, approve=approve, reason=reason
        )
    except GatewayError as exc:
        raise CliError(f"{exc.code}: {exc.detail}") from exc
    finally:
        container.close()
    click.echo(f"{application_id}: {'approved' if approve else 'rejected'} by {institution_code}")
