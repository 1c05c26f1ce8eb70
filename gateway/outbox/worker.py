"""The outbox worker: `drain` delivers batches until nothing is due (or a deadline), `run_worker` is
the app's background task doing that forever. Run as many as you like, in as many processes: claims
never overlap (see gateway.outbox.delivery)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.composition import Container
from gateway.outbox.delivery import BatchResult, Deliverer, DeliveryConfig
from gateway.outbox.service import DELIVERING, PENDING
from gateway.outbox.tables import OutboxDelivery

log = logging.getLogger("gateway.outbox")
IDLE_POLL_S = 2.0
DRAIN_SLICE_S = 30.0


def drain(
    deliverer: Deliverer,
    *,
    max_seconds: float | None = None,
    progress: Callable[[BatchResult], None] | None = None,
) -> BatchResult:
    """Deliver batch after batch until nothing is due now, or `max_seconds` have passed."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    total = BatchResult()
    while deadline is None or time.monotonic() < deadline:
        batch = deliverer.run_once()
        total.add(batch)
        if progress is not None and batch.claimed:
            progress(total)
        if not batch.claimed:
            break
    return total


def outstanding(sessions: sessionmaker[Session]) -> tuple[int, datetime | None]:
    """How many deliveries are pending or in flight, and when the earliest is due."""
    with sessions() as session:
        row = session.execute(
            select(func.count(), func.min(OutboxDelivery.next_attempt_at)).where(
                OutboxDelivery.status.in_((PENDING, DELIVERING))
            )
        ).one()
    return int(row[0]), row[1]


def deliverer_for(container: Container, config: DeliveryConfig | None = None) -> Deliverer:
    return Deliverer(
        container.sessions, container.signer, clock=container.clock, config=config or DeliveryConfig()
    )


async def run_worker(container: Container, *, idle_s: float = IDLE_POLL_S) -> None:
    """Background delivery for `create_app(..., background_jobs=True)`: drain, then poll when idle."""
    deliverer = deliverer_for(container)
    try:
        while True:
            try:
                result = await anyio.to_thread.run_sync(lambda: drain(deliverer, max_seconds=DRAIN_SLICE_S))
                if result.claimed:
                    log.info(
                        "outbox delivered",
                        extra={
                            "delivered": result.delivered,
                            "retrying": result.retrying,
                            "dead": result.dead,
                        },
                    )
                    continue
            except Exception:
                log.exception("outbox delivery failed; will retry")
            await asyncio.sleep(idle_s)
    finally:
        deliverer.close()
