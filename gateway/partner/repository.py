"""Queries of the pull-mode partner protocol, and the partner-facing status of an application."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.institutions import QuoteRequest
from gateway.broker.tables import Application
from gateway.partner.tables import PartnerNotice, PartnerRoute

ISSUED_OR_LATER = ("issued", "locked", "released", "claimed", "claim_paid", "claim_refused", "surrendered",
                    "expired")  # fmt: skip


def partner_status() -> ColumnElement[Any]:
    """An application as its institution sees it (SQL, so that `?status=` filters and pages in the
    database). Before the bidder chose this institution only the quote counts; after, the order's state."""
    chosen = Application.institution_code == PartnerRoute.institution_code
    status = Application.status
    return case(
        (and_(chosen, status.in_(("accepted", "under_review"))), "awaiting_decision"),
        (and_(chosen, status == "awaiting_payment"), "approved"),
        (and_(chosen, status == "paid", PartnerRoute.issue_request.is_not(None)), "awaiting_issuance"),
        (and_(chosen, status == "paid"), "paid"),
        (and_(chosen, status == "rejected"), "rejected"),
        (and_(chosen, status.in_(ISSUED_OR_LATER)), "issued"),
        (and_(PartnerRoute.quote_status == "open", status == "quoting"), "quote_requested"),
        (and_(PartnerRoute.quote_status == "answered", status.in_(("quoting", "offered"))), "quoted"),
        else_="closed",
    )


def route(session: Session, application_id: str, code: str, *, lock: bool = False) -> PartnerRoute | None:
    query = select(PartnerRoute).where(
        PartnerRoute.application_id == application_id, PartnerRoute.institution_code == code
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def open_route(session: Session, request: QuoteRequest, *, now: datetime) -> PartnerRoute:
    """The route for this quote request, created once (a retried fan-out finds the first one)."""
    code, application_id = request.institution_code, request.application_id
    existing = route(session, application_id, code)
    if existing is not None:
        return existing
    row = PartnerRoute(
        application_id=application_id,
        institution_code=code,
        quote_request=request.model_dump_json(),
        quote_status="open",
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = route(session, application_id, code)
        assert found is not None
        return found
    return row


def lapse_quote(session: Session, route_id: int, *, now: datetime) -> bool:
    """Close an unanswered quote request; False when the answer won the race (it stands)."""
    result = session.execute(
        update(PartnerRoute)
        .where(PartnerRoute.id == route_id, PartnerRoute.quote_status == "open")
        .values(quote_status="lapsed", updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def routes_page(
    session: Session, code: str, *, status: str | None, after: int, limit: int
) -> Sequence[tuple[PartnerRoute, Application, str]]:
    stage = partner_status().label("stage")
    query = (
        select(PartnerRoute, Application, stage)
        .join(Application, Application.id == PartnerRoute.application_id)
        .where(PartnerRoute.institution_code == code, PartnerRoute.id > after)
        .order_by(PartnerRoute.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(partner_status() == status)
    return [(r, a, str(s)) for r, a, s in session.execute(query).all()]


def one_route(
    session: Session, application_id: str, code: str
) -> tuple[PartnerRoute, Application, str] | None:
    row = session.execute(
        select(PartnerRoute, Application, partner_status())
        .join(Application, Application.id == PartnerRoute.application_id)
        .where(PartnerRoute.application_id == application_id, PartnerRoute.institution_code == code)
    ).one_or_none()
    return None if row is None else (row[0], row[1], str(row[2]))


def add_notice(
    session: Session, *, code: str, kind: str, ref: str, guarantee_no: str, payload: str, now: datetime
) -> PartnerNotice:
    """Once per (institution, kind, ref): a repeated notice is the same notice."""
    query = select(PartnerNotice).where(
        PartnerNotice.institution_code == code, PartnerNotice.kind == kind, PartnerNotice.ref == ref
    )
    existing = session.execute(query).scalar_one_or_none()
    if existing is not None:
        return existing
    row = PartnerNotice(
        institution_code=code, kind=kind, ref=ref, guarantee_no=guarantee_no, payload=payload, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return session.execute(query).scalar_one()
    return row


def notices_page(
    session: Session, code: str, *, pending: bool, after: int, limit: int
) -> Sequence[PartnerNotice]:
    query = (
        select(PartnerNotice)
        .where(PartnerNotice.institution_code == code, PartnerNotice.id > after)
        .order_by(PartnerNotice.id)
        .limit(limit)
    )
    if pending:
        query = query.where(PartnerNotice.acknowledged_at.is_(None))
    return session.scalars(query).all()
