"""`gateway outbox drain|redeliver|list`: deliver webhooks now, recover dead letters, look around."""

from __future__ import annotations

import sys
import time

import click
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.auth.middleware import GatewaySigner
from gateway.cli.common import CliError, open_database, settings_from_env
from gateway.db import transaction, utcnow


@click.group(name="outbox")
def command() -> None:
    """Webhook deliveries from the transactional outbox."""


@command.command(name="drain")
@click.option("--until-empty", is_flag=True, help="Also wait for retries until nothing is pending.")
@click.option("--max-seconds", type=click.FloatRange(min=0), default=None, help="Stop after this long.")
def drain(until_empty: bool, max_seconds: float | None) -> None:
    """Deliver every due webhook now (as a worker would), printing progress."""
    from gateway.outbox import worker
    from gateway.outbox.delivery import BatchResult, Deliverer

    engine, sessions, signer = _open()
    deliverer = Deliverer(sessions, signer)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    total = BatchResult()

    def report(done: BatchResult) -> None:
        line = (
            f"\rdelivered {total.delivered + done.delivered}, retrying {total.retrying + done.retrying},"
            f" dead {total.dead + done.dead}"
        )
        click.echo(line, err=True, nl=False)

    try:
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            total.add(worker.drain(deliverer, max_seconds=left, progress=report))
            pending, next_due = worker.outstanding(sessions)
            if not until_empty or pending == 0 or (deadline is not None and time.monotonic() >= deadline):
                break
            wait = 1.0 if next_due is None else (next_due - utcnow()).total_seconds()
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
            time.sleep(min(max(wait, 0.05), 5.0))
    finally:
        deliverer.close()
        engine.dispose()
    if sys.stderr.isatty() and total.claimed:
        click.echo("", err=True)
    click.echo(
        f"outbox drain: {total.delivered} delivered, {total.retrying} to retry, {total.dead} dead,"
        f" {pending} pending"
    )


@command.command(name="redeliver")
@click.argument("event_id", required=False)
@click.option("--all-dead", is_flag=True, help="Every dead-lettered delivery.")
def redeliver(event_id: str | None, all_dead: bool) -> None:
    """Put an event's deliveries (or every dead one) back to pending with a fresh retry schedule."""
    from gateway.errors import GatewayError
    from gateway.outbox import service

    if (event_id is None) == (not all_dead):
        raise click.UsageError("give an EVENT_ID or --all-dead (not both)")
    engine, sessions, _signer = _open()
    try:
        with transaction(sessions) as session:
            if all_dead:
                count = service.redeliver_dead(session, now=utcnow(), actor="cli")
            else:
                assert event_id is not None
                count = len(service.redeliver(session, event_id, now=utcnow(), actor="cli"))
    except GatewayError as exc:
        raise CliError(f"{exc.code}: {exc.detail}") from exc
    finally:
        engine.dispose()
    click.echo(f"outbox redeliver: {count} deliveries pending again")


@command.command(name="list")
@click.option("--status", type=click.Choice(["pending", "delivering", "delivered", "dead"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=100)
def list_deliveries(status: str | None, limit: int) -> None:
    """Deliveries, newest first: event id, type, status, attempts, next attempt, URL, last error."""
    from gateway.outbox.tables import OutboxDelivery, OutboxEvent, WebhookSubscription

    engine, sessions, _signer = _open()
    query = (
        select(OutboxDelivery, OutboxEvent.event_id, OutboxEvent.type, WebhookSubscription.url)
        .join(OutboxEvent, OutboxDelivery.outbox_id == OutboxEvent.id)
        .join(WebhookSubscription, OutboxDelivery.subscription_id == WebhookSubscription.id)
        .order_by(OutboxDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(OutboxDelivery.status == status)
    try:
        with sessions() as session:
            rows = session.execute(query).all()
    finally:
        engine.dispose()
    for delivery, event_id, type_, url in rows:
        error = f" {delivery.last_error}" if delivery.last_error else ""
        click.echo(
            f"{event_id} {type_} {delivery.status} attempts={delivery.attempts}"
            f" next={delivery.next_attempt_at.isoformat()} {url}{error}"
        )
    click.echo(f"{len(rows)} deliveries", err=True)


def _open() -> tuple[Engine, sessionmaker[Session], GatewaySigner]:
    """The database (upgraded) and the gateway's signing key: all these commands need."""
    from signing.sm2 import Sm2PrivateKey

    settings = settings_from_env()
    engine, sessions = open_database(settings)
    signer = GatewaySigner(
        settings.gateway_key_id, Sm2PrivateKey.from_pem(settings.gateway_signing_key_pem())
    )
    return engine, sessions, signer
