"""`gateway broker reconcile`: ask institutions about orders stuck waiting on them (reconciler.py)."""

from __future__ import annotations

from datetime import timedelta

import click

from gateway.cli.common import migrate_or_exit, settings_from_env


@click.group(name="broker")
def command() -> None:
    """Guarantee orders: maintenance of orders waiting on institutions."""


@command.command(name="reconcile")
@click.option(
    "--older-than",
    "older_than_s",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds an order must have waited (accepted, under_review, paid) before it is asked about.",
)
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="Orders per run.")
def reconcile_command(older_than_s: float, limit: int) -> None:
    """Query the institution of every stuck order; record decisions, retry issuance."""
    from gateway.broker.reconciler import reconcile
    from gateway.composition import build_container, load_push_institutions

    settings = settings_from_env()
    migrate_or_exit(settings)
    container = build_container(settings)
    try:
        load_push_institutions(container)
        report = reconcile(container, older_than=timedelta(seconds=older_than_s), limit=limit)
    finally:
        container.close()
    for application_id in report.decided:
        click.echo(f"{application_id}: decision recorded")
    for application_id in report.issued:
        click.echo(f"{application_id}: issuance settled")
    for application_id in report.waiting:
        click.echo(f"{application_id}: still under review")
    for application_id, reason in report.failed.items():
        click.echo(f"{application_id}: not settled: {reason}", err=True)
    click.echo(f"broker reconcile: {report.summary()}")
