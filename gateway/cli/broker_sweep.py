"""`gateway broker sweep`: run the broker's periodic jobs once (the server runs them in the background).

- payment recovery: payments left `pending` by a crash between the provider's charge and recording
  it are completed (premium held, then issued), failed, or refunded, by asking the provider;
- offer expiry: offered orders whose every offer lapsed, and awaiting-payment orders whose accepted
  offer lapsed, become expired_offer.

The sandbox payment provider keeps its charges in the memory of the process that made them: from a
separate CLI process it knows none of them, so a stale pending sandbox payment is failed.
"""

from __future__ import annotations

import click

from gateway.cli.broker import command
from gateway.cli.common import CliError, migrate_or_exit, settings_from_env


@command.command(name="sweep")
@click.option(
    "--grace-seconds",
    type=click.FloatRange(min=0),
    default=None,
    help="Only recover payments pending at least this long (default 300).",
)
def sweep_command(grace_seconds: float | None) -> None:
    """Recover stale pending payments and expire lapsed offers, once."""
    from gateway.broker.workflow import PAYMENT_RECOVERY_GRACE_S, Broker
    from gateway.composition import build_container
    from gateway.errors import GatewayError

    settings = settings_from_env()
    migrate_or_exit(settings)
    container = build_container(settings)
    try:
        broker = Broker.from_container(container)
        recovery = broker.recover_payments(
            grace_s=PAYMENT_RECOVERY_GRACE_S if grace_seconds is None else grace_seconds
        )
        expired = broker.expire_offers()
    except GatewayError as exc:
        raise CliError(f"{exc.code}: {exc.detail}") from exc
    finally:
        container.close()
    click.echo(
        f"payments: {len(recovery.completed)} completed, {len(recovery.failed)} failed, "
        f"{len(recovery.refunded)} refunded, {len(recovery.unanswered)} provider unavailable"
    )
    click.echo(f"orders expired: {len(expired)}")
    for application_id in expired:
        click.echo(f"  {application_id}")
