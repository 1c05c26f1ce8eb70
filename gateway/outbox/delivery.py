"""Delivering webhooks: claim a batch, POST each one outside any database transaction, record each
outcome in its own short transaction.

Claiming: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` picks due rows no other worker is
claiming, and marks them `delivering` under a lease (so any number of workers in any number of
processes share the work and never send one delivery twice at once); a worker that dies leaves its
rows to be taken over when the lease runs out. On SQLite every transaction is ``BEGIN IMMEDIATE``
(gateway.db): the claim runs under the single writer lock.

Each POST carries ``Gw-Event-Id`` and the gateway's signature headers over
``POST\\nPATH_AND_QUERY\\nTIMESTAMP\\nNONCE\\nSM3(body)\\n`` (PATH_AND_QUERY of the receiver's URL). Only a
2xx answer counts as delivered; redirects are not followed.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.auth.middleware import GatewaySigner
from gateway.db import transaction, utcnow
from gateway.outbox.retry import DEFAULT_POLICY, RetryPolicy
from gateway.outbox.service import DEAD, DELIVERED, DELIVERING, PENDING
from gateway.outbox.tables import OutboxDelivery, OutboxEvent, WebhookSubscription
from signing.canonical import canonical_json
from signing.http_signature import sign_response

log = logging.getLogger("gateway.outbox")
USER_AGENT = "eguarantee-gateway-webhooks/1"


@dataclass(frozen=True)
class DeliveryConfig:
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    batch_size: int = 20
    policy: RetryPolicy = DEFAULT_POLICY

    @property
    def lease(self) -> timedelta:
        """Long enough for a whole batch of receivers that all time out, plus a margin."""
        per_call = self.connect_timeout_s + 2 * self.read_timeout_s  # read + write
        return timedelta(seconds=self.batch_size * per_call + 30)

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout_s,
            read=self.read_timeout_s,
            write=self.read_timeout_s,
            pool=self.connect_timeout_s,
        )


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    outbox_id: int
    event_id: str
    url: str
    body: bytes
    attempts: int  # before this attempt
    started_at: datetime


@dataclass
class BatchResult:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0

    def add(self, other: BatchResult) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.dead += other.dead


def webhook_body(event: OutboxEvent) -> bytes:
    """The body receivers get: ``{id, type, created_at, data}`` as canonical JSON."""
    return canonical_json(
        {
            "id": event.event_id,
            "type": event.type,
            "created_at": event.created_at.isoformat(),
            "data": json.loads(event.data),
        }
    )


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Deliverer:
    """One worker's delivery loop parts. `clock` decides what is due and when to retry (tests set
    it); signatures carry the wall-clock time, which is what receivers check their window against."""

    sessions: sessionmaker[Session]
    signer: GatewaySigner
    clock: Callable[[], datetime] = utcnow
    config: DeliveryConfig = field(default_factory=DeliveryConfig)
    worker_id: str = field(default_factory=new_worker_id)
    uniform: Callable[[], float] = random.random
    http: httpx.Client | None = None

    def __post_init__(self) -> None:
        if self.http is None:
            self.http = httpx.Client(
                timeout=self.config.timeout(), follow_redirects=False, headers={"User-Agent": USER_AGENT}
            )

    def close(self) -> None:
        if self.http is not None:
            self.http.close()

    def run_once(self) -> BatchResult:
        """Claim one batch of due deliveries and attempt each."""
        batch = self.claim()
        result = BatchResult(claimed=len(batch))
        for claimed in batch:
            error = self.send(claimed)
            outcome = self.record(claimed, error)
            if outcome == DELIVERED:
                result.delivered += 1
            elif outcome == DEAD:
                result.dead += 1
            elif outcome == PENDING:
                result.retrying += 1
        return result

    def claim(self) -> list[Claimed]:
        with transaction(self.sessions) as session:
            now = self.clock()
            due = or_(
                and_(OutboxDelivery.status == PENDING, OutboxDelivery.next_attempt_at <= now),
                and_(OutboxDelivery.status == DELIVERING, OutboxDelivery.lease_until < now),
            )
            query = (
                select(OutboxDelivery.id)
                .where(due)
                .order_by(OutboxDelivery.next_attempt_at, OutboxDelivery.id)
                .limit(self.config.batch_size)
            )
            if session.get_bind().dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if not ids:
                return []
            session.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.id.in_(ids))
                .values(status=DELIVERING, locked_by=self.worker_id, lease_until=now + self.config.lease)
            )
            rows = session.execute(
                select(OutboxDelivery, OutboxEvent, WebhookSubscription.url)
                .join(OutboxEvent, OutboxDelivery.outbox_id == OutboxEvent.id)
                .join(WebhookSubscription, OutboxDelivery.subscription_id == WebhookSubscription.id)
                .where(OutboxDelivery.id.in_(ids))
                .order_by(OutboxDelivery.next_attempt_at, OutboxDelivery.id)
            ).all()
            return [
                Claimed(
                    delivery_id=delivery.id,
                    outbox_id=event.id,
                    event_id=event.event_id,
                    url=url,
                    body=webhook_body(event),
                    attempts=delivery.attempts,
                    started_at=delivery.started_at,
                )
                for delivery, event, url in rows
            ]

    def send(self, claimed: Claimed) -> str | None:
        """POST the event; None when the receiver answered 2xx, else why not. No transaction is open."""
        assert self.http is not None
        parts = urlsplit(claimed.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = sign_response(
            self.signer.key, self.signer.key_id, "POST", target, claimed.body, timestamp=int(time.time())
        )
        headers |= {"Gw-Event-Id": claimed.event_id, "Content-Type": "application/json"}
        try:
            response = self.http.post(claimed.url, content=claimed.body, headers=headers)
        except httpx.TimeoutException as exc:
            return f"timeout: {type(exc).__name__}"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:200]}"

    def record(self, claimed: Claimed, error: str | None) -> str | None:
        """Write the outcome if this worker still holds the lease; the new status, or None if not."""
        with transaction(self.sessions) as session:
            now = self.clock()
            mine = (
                OutboxDelivery.id == claimed.delivery_id,
                OutboxDelivery.locked_by == self.worker_id,
                OutboxDelivery.status == DELIVERING,
            )
            attempts = claimed.attempts + 1
            if error is None:
                status = DELIVERED
                values: dict[str, object] = {"delivered_at": now, "last_error": None}
            else:
                retry_at = self.config.policy.next_attempt_at(
                    attempts=attempts, started_at=claimed.started_at, failed_at=now, uniform=self.uniform()
                )
                status = DEAD if retry_at is None else PENDING
                values = {"last_error": error[:500], "next_attempt_at": retry_at or now}
            changed = session.execute(
                update(OutboxDelivery)
                .where(*mine)
                .values(status=status, attempts=attempts, locked_by=None, lease_until=None, **values)
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                log.warning(
                    "lease lost before the outcome was recorded", extra={"event_id": claimed.event_id}
                )
                return None
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == claimed.outbox_id)
                .values(attempts=OutboxEvent.attempts + 1)
            )
            if status == DELIVERED:
                undelivered = exists().where(
                    OutboxDelivery.outbox_id == claimed.outbox_id, OutboxDelivery.status != DELIVERED
                )
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == claimed.outbox_id, ~undelivered)
                    .values(delivered_at=now)
                )
            elif status == DEAD:
                log.warning(
                    "webhook delivery dead-lettered", extra={"event_id": claimed.event_id, "error": error}
                )
            return status
