"""Idempotency keys: the first request with a key runs; repeats replay its response.

Outcomes for a (caller, key):
- new, or expired (older than the TTL), or abandoned (still in flight past its lease, e.g. the process
  died): the request is *claimed* and runs;
- a different request (method, path or body) under the same key: *mismatch* (422);
- the first request still running: *in flight* (409);
- completed: *replay* of the stored status, headers and body.

A claim is its own short transaction, committed before the request runs, so the unique constraint on
(caller, key) decides between concurrent requests on every backend: exactly one executes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.idempotency.tables import IdempotencyRecord


class Outcome(StrEnum):
    CLAIMED = "claimed"
    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_FLIGHT = "in_flight"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    record_id: int | None = None
    response: StoredResponse | None = None


@dataclass(frozen=True)
class IdempotencyPolicy:
    ttl: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(minutes=5)


def claim(
    sessions: sessionmaker[Session],
    *,
    caller: str,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    now: datetime,
    policy: IdempotencyPolicy,
) -> Claim:
    for _attempt in range(3):
        try:
            with sessions() as session, session.begin():
                return _claim_once(session, caller, key, method, path, request_hash, now, policy)
        except IntegrityError:
            # Another request inserted the same (caller, key) between our read and our insert:
            # read again and answer from its row.
            continue
    return Claim(Outcome.IN_FLIGHT)


def _claim_once(
    session: Session,
    caller: str,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    now: datetime,
    policy: IdempotencyPolicy,
) -> Claim:
    existing = session.scalars(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.caller == caller, IdempotencyRecord.key == key)
        .with_for_update()
    ).one_or_none()
    if existing is not None and existing.expires_at <= now:
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        record = IdempotencyRecord(
            caller=caller,
            key=key,
            method=method,
            path=path,
            request_hash=request_hash,
            state="in_flight",
            created_at=now,
            lease_until=now + policy.lease,
            expires_at=now + policy.ttl,
        )
        session.add(record)
        session.flush()
        return Claim(Outcome.CLAIMED, record_id=record.id)
    if existing.request_hash != request_hash:
        return Claim(Outcome.MISMATCH)
    if existing.state == "in_flight":
        if existing.lease_until > now:
            return Claim(Outcome.IN_FLIGHT)
        existing.lease_until = now + policy.lease
        return Claim(Outcome.CLAIMED, record_id=existing.id)
    assert existing.status_code is not None
    return Claim(
        Outcome.REPLAY,
        record_id=existing.id,
        response=StoredResponse(
            status=existing.status_code,
            headers=[(name, value) for name, value in json.loads(existing.response_headers or "[]")],
            body=existing.response_body or b"",
        ),
    )


def complete(sessions: sessionmaker[Session], record_id: int, response: StoredResponse) -> None:
    with sessions() as session, session.begin():
        record = session.get(IdempotencyRecord, record_id)
        if record is None:  # purged meanwhile: nothing to remember the response under
            return
        record.state = "completed"
        record.status_code = response.status
        record.response_headers = json.dumps(response.headers)
        record.response_body = response.body


def release(sessions: sessionmaker[Session], record_id: int) -> None:
    """Forget a claim whose request failed on our side (5xx), so that the client's retry runs again."""
    with sessions() as session, session.begin():
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


def purge_expired(sessions: sessionmaker[Session], now: datetime) -> int:
    with sessions() as session, session.begin():
        result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)
