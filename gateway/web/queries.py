"""Reads the portal needs beyond the bidder API's: a bidder's own orders and an order's timeline.

Every read is scoped to the bidder (the same rule as the API: another bidder's order is not found).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.enums import DecisionMode, GuaranteeStatus, InstitutionKind
from gateway.audit.tables import AuditRecord
from gateway.broker import repository
from gateway.broker.tables import Application, Guarantee
from gateway.sections.tables import Section


@dataclass(frozen=True)
class OfferView:
    offer_id: str
    institution_name: str
    institution_kind: str
    premium_fen: int
    decision: DecisionMode
    valid_until: datetime
    rank: int


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    status: str
    status_zh: str
    actor: str


@dataclass(frozen=True)
class OrderView:
    app: Application
    section: Section | None
    offers: list[OfferView]
    timeline: list[TimelineEntry]
    guarantee: Guarantee | None


def open_section(session: Session, code: str, *, now: datetime) -> Section | None:
    row = session.get(Section, code)
    if row is None or row.status != "open" or row.bid_deadline_at <= now:
        return None
    return row


def bidders_orders(session: Session, uscc: str, *, limit: int = 50) -> Sequence[Application]:
    return session.scalars(
        select(Application)
        .where(Application.bidder_uscc == uscc)
        .order_by(Application.created_at.desc(), Application.id)
        .limit(limit)
    ).all()


def timeline(session: Session, application_id: str) -> list[TimelineEntry]:
    """The order's moves, from the audit log (every transition appends one record with before/after)."""
    rows = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.object_type == "application", AuditRecord.object_id == application_id)
        .order_by(AuditRecord.seq)
    ).all()
    entries: list[TimelineEntry] = []
    for row in rows:
        after = json.loads(row.after) if row.after else {}
        status = after.get("status") if isinstance(after, dict) else None
        if not isinstance(status, str) or status not in GuaranteeStatus.__members__.values():
            continue
        entries.append(TimelineEntry(row.at, status, GuaranteeStatus(status).zh, _actor_zh(row.actor)))
    return entries


def _actor_zh(actor: str) -> str:
    kind = actor.partition(":")[0]
    return {"bidder": "投标人", "institution": "金融机构", "system": "系统", "center": "交易中心"}.get(
        kind, "系统"
    )


def order_view(session: Session, application_id: str, uscc: str) -> OrderView | None:
    app = repository.bidders_application(session, application_id, uscc)
    if app is None:
        return None
    offers = repository.offers_of(session, app.id)
    institutions = {
        row.code: row for row in repository.institutions(session, [o.institution_code for o in offers])
    }
    views = [
        OfferView(
            offer_id=offer.id,
            institution_name=institutions[offer.institution_code].name,
            institution_kind=InstitutionKind(institutions[offer.institution_code].kind).zh,
            premium_fen=offer.premium_fen,
            decision=DecisionMode(offer.decision),
            valid_until=offer.valid_until,
            rank=offer.rank,
        )
        for offer in offers
    ]
    guarantee = repository.guarantee(session, app.guarantee_no) if app.guarantee_no else None
    return OrderView(
        app=app,
        section=session.get(Section, app.section_code),
        offers=views,
        timeline=timeline(session, app.id),
        guarantee=guarantee,
    )


def bidders_guarantee(session: Session, guarantee_no: str, uscc: str) -> Guarantee | None:
    row = repository.guarantee(session, guarantee_no)
    return row if row is not None and row.bidder_uscc == uscc else None
