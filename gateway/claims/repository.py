"""Queries for claims (reads, the row lock every decision starts with, the forwarding lease)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from gateway.claims.tables import Claim


def lock_claim(session: Session, claim_id: str) -> Claim | None:
    return session.execute(
        select(Claim).where(Claim.id == claim_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def centers_claim(session: Session, claim_id: str, center_code: str) -> Claim | None:
    return session.execute(
        select(Claim).where(Claim.id == claim_id, Claim.center_code == center_code)
    ).scalar_one_or_none()


def institutions_claim(session: Session, claim_id: str, institution_code: str) -> Claim | None:
    return session.execute(
        select(Claim).where(Claim.id == claim_id, Claim.institution_code == institution_code)
    ).scalar_one_or_none()


def centers_claims(
    session: Session, center_code: str, *, status: str, today: date, after: str, limit: int
) -> Sequence[Claim]:
    """The center's claims by id: `open`, `overdue` (open past the decision day), `decided` or `all`."""
    query: Select[Claim] = select(Claim).where(Claim.center_code == center_code, Claim.id > after)
    if status == "open":
        query = query.where(Claim.status == "open")
    elif status == "overdue":
        query = query.where(Claim.status == "open", Claim.decision_due < today)
    elif status == "decided":
        query = query.where(Claim.status != "open")
    return session.scalars(query.order_by(Claim.id).limit(limit)).all()


def lease_due_forwards(
    session: Session, *, now: datetime, until: datetime, limit: int, claim_id: str | None = None
) -> list[Claim]:
    """Open, not yet acknowledged claims whose next attempt is due, leased until `until`: other workers
    skip the locked rows now (SKIP LOCKED on PostgreSQL; SQLite has one writer) and the leased rows
    until the lease ends, so one claim is never sent by two workers at once."""
    query = select(Claim).where(
        Claim.status == "open", Claim.forwarded_at.is_(None), Claim.next_forward_at <= now
    )
    if claim_id is not None:
        query = query.where(Claim.id == claim_id)
    rows = session.scalars(
        query.order_by(Claim.next_forward_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.next_forward_at = until
        row.forward_attempts += 1
    return list(rows)


def without_deadline(session: Session, *, limit: int) -> Sequence[Claim]:
    return session.scalars(
        select(Claim)
        .where(Claim.status == "open", or_(Claim.decision_due.is_(None), Claim.decision_due_provisional))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
