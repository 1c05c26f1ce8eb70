from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.descriptors import SectionDescriptor
from gateway.sections.tables import Center, Section


def open_sections(session: Session, *, now: datetime, after: str, limit: int) -> Sequence[Section]:
    """Sections still taking bids (open, deadline in the future), by code."""
    return session.scalars(
        select(Section)
        .where(Section.status == "open", Section.bid_deadline_at > now, Section.code > after)
        .order_by(Section.code)
        .limit(limit)
    ).all()


def upsert_center(
    session: Session,
    *,
    code: str,
    name: str,
    now: datetime,
    rate_cap_ppm: int | None = None,
    allocation_policy: str = "bidder_choice",
) -> Center:
    row = session.get(Center, code)
    if row is None:
        row = Center(code=code, created_at=now, round_robin_cursor=0)
        session.add(row)
    row.name, row.rate_cap_ppm, row.allocation_policy = name, rate_cap_ppm, allocation_policy
    session.flush()
    return row


def upsert_section(
    session: Session, descriptor: SectionDescriptor, *, now: datetime, status: str = "open"
) -> Section:
    row = session.get(Section, str(descriptor.code))
    if row is None:
        row = Section(code=str(descriptor.code), created_at=now)
        session.add(row)
    row.center_code = descriptor.center_code
    row.project_code = descriptor.project_code
    row.project_name = descriptor.project_name
    row.name = descriptor.name
    row.tenderee_name = descriptor.tenderee_name
    row.tenderee_uscc = str(descriptor.tenderee_uscc)
    row.deposit_fen = descriptor.deposit_fen.fen
    row.bid_deadline_at = descriptor.bid_deadline_at
    row.bid_opening_at = descriptor.bid_opening_at
    row.bid_validity_days = descriptor.bid_validity_days
    row.status = status
    session.flush()
    return row
