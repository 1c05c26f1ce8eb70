"""Queries for the broker (reads, and the row lock every state change starts with)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Row, Select, and_, func, select
from sqlalchemy.orm import Session

from gateway.broker.tables import Application, Guarantee, Offer, Payment
from gateway.institutions.tables import Institution
from gateway.sections.tables import Center, Section

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def lock_application(session: Session, application_id: str) -> Application | None:
    """The application under a row lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one writer)."""
    return session.execute(
        select(Application)
        .where(Application.id == application_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def lock_application_with(
    session: Session, application_id: str, other: type[T], on: ColumnElement[bool]
) -> tuple[Application, T | None] | None:
    """`lock_application` and one related row (`other` joined `on`, None when there is none), in
    one statement: only the order's row is locked (FOR UPDATE OF applications). Use cases that need
    both save a round trip."""
    row = _locking_order(
        session, select(Application, other).outerjoin(other, on).where(Application.id == application_id)
    )
    return None if row is None else (row[0], row[1])


def _locking_order(session: Session, query: Select[*Ts]) -> Row[*Ts] | None:
    """The one row of `query`, with only the order's row locked (FOR UPDATE OF applications) and every
    entity read afresh (not the session's older copy)."""
    return session.execute(
        query.with_for_update(of=Application).execution_options(populate_existing=True)
    ).one_or_none()


def _with_required(found: tuple[Application, T | None] | None) -> tuple[Application, T] | None:
    """A related row the order cannot lack (its foreign key is not nullable)."""
    if found is None:
        return None
    app, other = found
    assert other is not None
    return app, other


def lock_application_in_section_with_offer(
    session: Session, application_id: str, offer_id: str
) -> tuple[Application, Section, Offer | None] | None:
    """The order under its row lock, its section and its offer `offer_id` (None when the order has no
    such offer), in one statement."""
    row = _locking_order(
        session,
        select(Application, Section, Offer)
        .join(Section, Section.code == Application.section_code)
        .outerjoin(Offer, and_(Offer.id == offer_id, Offer.application_id == Application.id))
        .where(Application.id == application_id),
    )
    return None if row is None else (row[0], row[1], row[2])


def lock_application_of_payment(
    session: Session, payment_id: str
) -> tuple[Payment, Application, Section] | None:
    """A payment, its order under the order's row lock (the payment row itself is not locked, as
    when it is read first and the order locked after) and the order's section, in one statement."""
    row = _locking_order(
        session,
        select(Payment, Application, Section)
        .join(Application, Application.id == Payment.application_id)
        .join(Section, Section.code == Application.section_code)
        .where(Payment.id == payment_id),
    )
    return None if row is None else (row[0], row[1], row[2])


def lock_application_with_institution(
    session: Session, application_id: str
) -> tuple[Application, Institution | None] | None:
    """The institution is None before an offer is accepted."""
    return lock_application_with(
        session, application_id, Institution, Institution.code == Application.institution_code
    )


def lock_application_with_offer(
    session: Session, application_id: str, offer_id: str | None = None
) -> tuple[Application, Offer | None] | None:
    """The order and one of its offers: `offer_id`, or else the accepted one (None when the order
    has no such offer)."""
    on = (
        and_(Offer.id == offer_id, Offer.application_id == Application.id)
        if offer_id is not None
        else Offer.id == Application.accepted_offer_id
    )
    return lock_application_with(session, application_id, Offer, on)


def lock_application_with_center(session: Session, application_id: str) -> tuple[Application, Center] | None:
    return _with_required(
        lock_application_with(session, application_id, Center, Center.code == Application.center_code)
    )


def bidders_application(session: Session, application_id: str, uscc: str) -> Application | None:
    return session.execute(
        select(Application).where(Application.id == application_id, Application.bidder_uscc == uscc)
    ).scalar_one_or_none()


def section_for_application(
    session: Session, code: str, live_slot: str
) -> tuple[Section, Center, Application | None] | None:
    """A new order's section, its center and the bidder's live order in that slot (None when there is
    none), in one statement; None when there is no such section."""
    row = session.execute(
        select(Section, Center, Application)
        .join(Center, Center.code == Section.center_code)
        .outerjoin(Application, Application.live_slot == live_slot)
        .where(Section.code == code)
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def offers_of(session: Session, application_id: str) -> Sequence[Offer]:
    return session.scalars(
        select(Offer).where(Offer.application_id == application_id).order_by(Offer.rank, Offer.id)
    ).all()


def payments_of(session: Session, application_id: str) -> Sequence[Payment]:
    return session.scalars(
        select(Payment).where(Payment.application_id == application_id).order_by(Payment.created_at)
    ).all()


def section(session: Session, code: str) -> Section | None:
    return session.get(Section, code)


def center(session: Session, code: str, *, lock: bool = False) -> Center | None:
    query = select(Center).where(Center.code == code)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def institutions(session: Session, codes: Sequence[str] | None = None) -> Sequence[Institution]:
    query = select(Institution).order_by(Institution.code)
    if codes is not None:
        query = query.where(Institution.code.in_(codes))
    return session.scalars(query).all()


def eligible_institutions(
    session: Session, *, product: str, center_code: str, amount_fen: int
) -> list[Institution]:
    rows = session.scalars(
        select(Institution).where(
            Institution.active.is_(True),
            Institution.min_amount_fen <= amount_fen,
            Institution.max_amount_fen >= amount_fen,
        )
    ).all()
    return [
        row for row in rows if product in json.loads(row.products) and center_code in json.loads(row.centers)
    ]


def open_load(session: Session, institution_codes: Sequence[str]) -> dict[str, int]:
    """Open (not yet issued or ended) applications per institution: least-loaded allocation."""
    rows = session.execute(
        select(Application.institution_code, func.count())
        .where(
            Application.institution_code.in_(institution_codes),
            Application.status.in_(("accepted", "under_review", "awaiting_payment", "paid")),
        )
        .group_by(Application.institution_code)
    ).all()
    return {str(code): int(count) for code, count in rows}


def guarantee(session: Session, guarantee_no: str) -> Guarantee | None:
    return session.get(Guarantee, guarantee_no)


def bidders_guarantees(session: Session, uscc: str, *, after: str, limit: int) -> Sequence[Guarantee]:
    return session.scalars(
        select(Guarantee)
        .where(Guarantee.bidder_uscc == uscc, Guarantee.guarantee_no > after)
        .order_by(Guarantee.guarantee_no)
        .limit(limit)
    ).all()


def offered_with_all_offers_lapsed(session: Session, *, now: datetime, limit: int) -> list[str]:
    rows = session.execute(
        select(Offer.application_id)
        .join(Application, Application.id == Offer.application_id)
        .where(Application.status == "offered")
        .group_by(Offer.application_id)
        .having(func.max(Offer.valid_until) <= now)
        .limit(limit)
    ).all()
    return [str(row[0]) for row in rows]


def awaiting_payment_with_lapsed_offer(session: Session, *, now: datetime, limit: int) -> list[str]:
    """Approved orders not paid before their accepted offer's validity ended: the premium the bidder
    would pay is no longer quoted, so the order lapses (a new application asks again)."""
    rows = session.execute(
        select(Application.id)
        .join(Offer, Offer.id == Application.accepted_offer_id)
        .where(Application.status == "awaiting_payment", Offer.valid_until <= now)
        .order_by(Application.id)
        .limit(limit)
    ).all()
    return [str(row[0]) for row in rows]


def pending_payments(session: Session, *, older_than: datetime, limit: int) -> list[str]:
    """Payments still `pending` that were started before `older_than` (a crash between the provider's
    charge and recording it leaves them so)."""
    rows = session.execute(
        select(Payment.id)
        .where(Payment.status == "pending", Payment.created_at <= older_than)
        .order_by(Payment.created_at, Payment.id)
        .limit(limit)
    ).all()
    return [str(row[0]) for row in rows]
