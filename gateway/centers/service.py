"""The center's use cases, each inside the caller's transaction (never commits, never calls out).

Calls to institutions (extensions, surrender notices) and payment providers (refunds) are made by
`gateway.centers.events` between these transactions. Every state change writes its audit record and
an outbox event for the center (and the institution, when it concerns one of its guarantees).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.enums import SurrenderReason
from contracts.uscc import Uscc, UsccError
from gateway.audit import service as audit
from gateway.broker import repository as broker_repository
from gateway.broker import service as broker
from gateway.broker.machine import Event
from gateway.broker.pricing import fee_fen
from gateway.broker.tables import Application, Guarantee, Payment
from gateway.centers import errors
from gateway.centers.schemas import SectionIn
from gateway.centers.tables import ExtensionRequest
from gateway.finance import section_events as finance
from gateway.institutions.tables import Institution
from gateway.outbox.service import emit
from gateway.sections.tables import Center, Section

STANDING = ("issued", "locked")  # a guarantee that still secures a bid
PRE_ISSUE = ("draft", "quoting", "offered", "accepted", "under_review", "awaiting_payment", "paid")


@dataclass(frozen=True)
class ExtensionAsk:
    """An extension to ask an institution for, outside the transaction."""

    request_id: str
    guarantee_no: str
    institution_code: str
    required_cover_end: date


@dataclass(frozen=True)
class Refund:
    """A premium to give back through the payment provider, outside the transaction."""

    application_id: str
    payment_id: str
    amount_fen: int
    surrendered: bool  # True: a surrender (its payout hold is confirmed after the refund)
    guarantee_no: str | None = None
    institution_code: str | None = None


@dataclass
class Outcome:
    section: Section
    asks: list[ExtensionAsk] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    surrendered: int = 0
    cancelled: int = 0
    released: int = 0


def _id() -> str:
    return f"ext_{secrets.token_hex(10)}"


def section_of(session: Session, center_code: str, code: str, *, lock: bool = False) -> Section:
    query = select(Section).where(Section.code == code)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    section = session.execute(query).scalar_one_or_none()
    if section is None or section.center_code != center_code:
        raise errors.UnknownSection(f"no section {code!r} of center {center_code}")
    return section


def section_event_data(section: Section) -> dict[str, object]:
    return {
        "section_code": section.code,
        "center_code": section.center_code,
        "status": section.status,
        "bid_deadline_at": section.bid_deadline_at.isoformat(),
        "bid_opening_at": section.bid_opening_at.isoformat(),
        "bid_validity_days": section.bid_validity_days,
    }


def _guarantee_data(section: Section, guarantee: Guarantee, **extra: object) -> dict[str, object]:
    return {
        "guarantee_no": guarantee.guarantee_no,
        "section_code": section.code,
        "center_code": section.center_code,
        "institution_code": guarantee.institution_code,
        "bidder_uscc": guarantee.bidder_uscc,
        **extra,
    }


# --------------------------------------------------------------------------- upsert


def validate_section(body: SectionIn) -> Uscc:
    if body.deposit_fen <= 0:
        raise errors.InvalidDeposit(f"deposit_fen must be > 0, got {body.deposit_fen}")
    if body.bid_validity_days <= 0:
        raise errors.InvalidValidityDays(f"bid_validity_days must be > 0, got {body.bid_validity_days}")
    if body.bid_opening_at < body.bid_deadline_at:
        raise errors.OpeningBeforeDeadline("bid_opening_at is before bid_deadline_at")
    try:
        return Uscc.parse(body.tenderee_uscc)
    except UsccError as exc:
        raise errors.InvalidTendereeUscc(str(exc)) from exc


def upsert_section(
    session: Session, *, center_code: str, code: str, body: SectionIn, now: datetime
) -> Outcome:
    """Create or update the calling center's section. A PUT that moves the opening time of an existing
    section is exactly an `opening_changed` event (extension requests included)."""
    tenderee = validate_section(body)
    existing = session.execute(
        select(Section)
        .where(Section.code == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if existing is not None and existing.center_code != center_code:
        raise errors.UnknownSection(f"no section {code!r} of center {center_code}")
    if existing is not None and existing.status != "open":
        raise errors.SectionNotOpen(f"section {code} is {existing.status}")
    if session.get(Center, center_code) is None:
        session.add(
            Center(
                code=center_code,
                name=center_code,
                rate_cap_ppm=None,
                allocation_policy="bidder_choice",
                round_robin_cursor=0,
                created_at=now,
            )
        )
        session.flush()
    section = existing or Section(code=code, center_code=center_code, status="open", created_at=now)
    before = section_event_data(section) if existing is not None else None
    moved = existing is not None and (
        existing.bid_opening_at != body.bid_opening_at or existing.bid_validity_days != body.bid_validity_days
    )
    section.project_code, section.project_name, section.name = body.project_code, body.project_name, body.name
    section.tenderee_name, section.tenderee_uscc = body.tenderee_name, str(tenderee)
    section.deposit_fen = body.deposit_fen
    section.bid_deadline_at = body.bid_deadline_at.astimezone(UTC)
    section.bid_opening_at = body.bid_opening_at.astimezone(UTC)
    section.bid_validity_days = body.bid_validity_days
    if existing is None:
        session.add(section)
    session.flush()
    audit.append(
        session,
        actor=f"center:{center_code}",
        action="section.upserted",
        object_type="section",
        object_id=code,
        before=before,
        after=section_event_data(section),
        at=now,
    )
    emit(session, "section.upserted", section_event_data(section), center=center_code)
    outcome = Outcome(section)
    if moved:
        outcome.asks = _ask_extensions(session, section, now=now)
        emit(session, "section.opening_changed", section_event_data(section), center=center_code)
    return outcome


# --------------------------------------------------------------------------- opening_changed


def change_opening(
    session: Session, section: Section, *, opening_at: datetime, deadline_at: datetime | None, now: datetime
) -> Outcome:
    if section.status != "open":
        raise errors.SectionNotOpen(f"section {section.code} is {section.status}")
    deadline = deadline_at.astimezone(UTC) if deadline_at is not None else section.bid_deadline_at
    if opening_at < deadline:
        raise errors.OpeningBeforeDeadline("bid_opening_at is before bid_deadline_at")
    changed = section.bid_opening_at != opening_at or section.bid_deadline_at != deadline
    before = section_event_data(section)
    section.bid_opening_at, section.bid_deadline_at = opening_at.astimezone(UTC), deadline
    outcome = Outcome(section, asks=_ask_extensions(session, section, now=now))
    if changed:
        audit.append(
            session,
            actor=f"center:{section.center_code}",
            action="section.opening_changed",
            object_type="section",
            object_id=section.code,
            before=before,
            after=section_event_data(section),
            at=now,
        )
        emit(session, "section.opening_changed", section_event_data(section), center=section.center_code)
    return outcome


def required_cover(section: Section) -> tuple[date, date]:
    return broker.cover_for(section.bid_opening_at, section.bid_validity_days)


def _ask_extensions(session: Session, section: Section, *, now: datetime) -> list[ExtensionAsk]:
    """Every standing guarantee whose cover ends before the end of bid validity gets one open request
    for that end (older open ones are superseded). Requests still open are returned again, so a
    repeated event retries the institutions that did not answer."""
    _start, until = required_cover(section)
    rows = session.execute(
        select(Guarantee)
        .join(Application, Application.id == Guarantee.application_id)
        .where(Guarantee.section_code == section.code, Application.status.in_(STANDING))
        .order_by(Guarantee.guarantee_no)
    ).scalars()
    short = [g for g in rows if g.cover_end < until]
    if not short:
        return []
    open_rows = session.scalars(
        select(ExtensionRequest).where(
            ExtensionRequest.guarantee_no.in_([g.guarantee_no for g in short]),
            ExtensionRequest.status == "open",
        )
    ).all()
    by_guarantee: dict[str, ExtensionRequest] = {}
    for request in open_rows:
        if request.required_cover_end == until:
            by_guarantee[request.guarantee_no] = request
        else:
            request.status, request.decided_at, request.reason = "superseded", now, "opening moved again"
    asks = []
    for guarantee in short:
        found = by_guarantee.get(guarantee.guarantee_no)
        if found is not None:
            request = found
        else:
            previous = session.scalar(
                select(ExtensionRequest).where(
                    ExtensionRequest.guarantee_no == guarantee.guarantee_no,
                    ExtensionRequest.required_cover_end == until,
                )
            )
            if previous is not None:  # already answered (refused) for this very end: not asked again
                continue
            request = ExtensionRequest(
                id=_id(),
                guarantee_no=guarantee.guarantee_no,
                institution_code=guarantee.institution_code,
                section_code=section.code,
                required_cover_end=until,
                status="open",
                requested_at=now,
            )
            session.add(request)
            emit(
                session,
                "guarantee.extension_requested",
                _guarantee_data(
                    section,
                    guarantee,
                    cover_end=guarantee.cover_end.isoformat(),
                    required_cover_end=until.isoformat(),
                ),
            )
        asks.append(ExtensionAsk(request.id, guarantee.guarantee_no, guarantee.institution_code, until))
    session.flush()
    return asks


def record_extension(
    session: Session,
    *,
    guarantee_no: str,
    institution_code: str,
    approved: bool,
    new_cover_end: date | None,
    reason: str | None,
    now: datetime,
    strict: bool = False,
) -> ExtensionRequest:
    """The institution's answer to the open request of its guarantee. `strict` (the partner API)
    refuses a cover that falls short; an adapter's short answer is recorded as a refusal."""
    guarantee = session.get(Guarantee, guarantee_no)
    if guarantee is None or guarantee.institution_code != institution_code:
        raise errors.GuaranteeNotFound(f"no guarantee {guarantee_no!r}")
    request = session.execute(
        select(ExtensionRequest)
        .where(ExtensionRequest.guarantee_no == guarantee_no, ExtensionRequest.status == "open")
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if request is None:
        raise errors.NoOpenExtensionRequest(f"guarantee {guarantee_no} has no open extension request")
    if approved and (new_cover_end is None or new_cover_end < request.required_cover_end):
        if strict:
            raise errors.ExtensionTooShort(
                f"new_cover_end must be on or after {request.required_cover_end.isoformat()}"
            )
        approved, reason = False, f"extended only to {new_cover_end}; {request.required_cover_end} needed"
    section = session.get(Section, guarantee.section_code)
    assert section is not None
    app = broker_repository.lock_application(session, guarantee.application_id)
    assert app is not None
    request.decided_at = now
    actor = f"institution:{institution_code}"
    if approved:
        assert new_cover_end is not None
        before = guarantee.cover_end.isoformat()
        request.status, request.new_cover_end = "extended", new_cover_end
        guarantee.cover_end = app.cover_end = new_cover_end
        audit.append(
            session,
            actor=actor,
            action="guarantee.extended",
            object_type="guarantee",
            object_id=guarantee_no,
            before={"cover_end": before},
            after={"cover_end": new_cover_end.isoformat()},
            at=now,
        )
        emit(
            session,
            "guarantee.extended",
            _guarantee_data(section, guarantee, cover_end=new_cover_end.isoformat()),
        )
    else:
        request.status, request.reason = "refused", (reason or "refused")[:200]
        audit.append(
            session,
            actor=actor,
            action="guarantee.extension_refused",
            object_type="guarantee",
            object_id=guarantee_no,
            after={"reason": request.reason},
            at=now,
        )
        emit(
            session, "guarantee.extension_refused", _guarantee_data(section, guarantee, reason=request.reason)
        )
    return request


# --------------------------------------------------------------------------- terminated


def _standing(session: Session, section_code: str, statuses: Sequence[str]) -> list[Guarantee]:
    return list(
        session.scalars(
            select(Guarantee)
            .join(Application, Application.id == Guarantee.application_id)
            .where(Guarantee.section_code == section_code, Application.status.in_(statuses))
            .order_by(Guarantee.guarantee_no)
        )
    )


def _refunded_payment(session: Session, app: Application, now: datetime) -> Payment | None:
    for payment in broker_repository.payments_of(session, app.id):
        if payment.status == "succeeded":
            payment.status, payment.updated_at = "refunded", now
            return payment
    return None


def terminate(session: Session, section: Section, *, now: datetime) -> Outcome:
    """流标 / termination: unlocked issued guarantees are surrendered with the premium refunded (or
    released, by the center's policy), live pre-issue orders cancelled (a paid one voided and
    refunded); cash deposits are finance's (`on_section_terminated`). Locked guarantees stay: they
    were the security at an opening that happened."""
    if section.status not in ("open", "terminated"):
        raise errors.EventOutOfOrder(f"section {section.code} is {section.status}; it cannot be terminated")
    center = session.get(Center, section.center_code)
    policy = center.termination_refund if center is not None else "full"
    actor = f"center:{section.center_code}"
    first = section.status == "open"
    section.status = "terminated"
    outcome = Outcome(section)
    for guarantee in _standing(session, section.code, ("issued",)):
        app = broker_repository.lock_application(session, guarantee.application_id)
        if app is None or app.status != "issued":
            continue
        if policy == "none":
            broker.transition(
                session, app, Event.RELEASE, actor=actor, now=now, reason="tender terminated",
                event_data=_guarantee_data(section, guarantee, reason="terminated"),
            )  # fmt: skip
            outcome.released += 1
            continue
        institution = session.get(Institution, app.institution_code)
        assert institution is not None
        assert app.premium_fen is not None
        fee = fee_fen(app.premium_fen, institution.platform_fee_ppm)
        broker.transition(
            session,
            app,
            Event.SURRENDER,
            actor=actor,
            now=now,
            reason=SurrenderReason.FAILED_TENDER.value,
            fee=fee,
            event_data=_guarantee_data(
                section, guarantee, reason=SurrenderReason.FAILED_TENDER.value, refund_fen=app.premium_fen
            ),
        )
        payment = _refunded_payment(session, app, now)
        outcome.surrendered += 1
        if payment is not None:
            outcome.refunds.append(
                Refund(
                    app.id,
                    payment.id,
                    payment.amount_fen,
                    True,
                    guarantee.guarantee_no,
                    guarantee.institution_code,
                )
            )
    pending = session.scalars(
        select(Application.id).where(
            Application.section_code == section.code, Application.status.in_(PRE_ISSUE)
        )
    ).all()
    for application_id in pending:
        app = broker_repository.lock_application(session, application_id)
        if app is None or app.status not in PRE_ISSUE:
            continue
        broker.transition(session, app, Event.CANCEL, actor=actor, now=now, reason="tender terminated")
        outcome.cancelled += 1
        payment = _refunded_payment(session, app, now)
        if payment is not None:
            outcome.refunds.append(Refund(app.id, payment.id, payment.amount_fen, False))
    finance.on_section_terminated(session, section.code, now=now)
    if first:
        audit.append(
            session,
            actor=actor,
            action="section.terminated",
            object_type="section",
            object_id=section.code,
            after=section_event_data(section),
            at=now,
        )
        emit(session, "section.terminated", section_event_data(section), center=section.center_code)
    return outcome


# --------------------------------------------------------------------------- awarded / contract_signed


def _release(
    session: Session, section: Section, guarantees: Sequence[Guarantee], *, reason: str, now: datetime
) -> int:
    released = 0
    for guarantee in guarantees:
        app = broker_repository.lock_application(session, guarantee.application_id)
        if app is None or app.status not in STANDING:
            continue
        broker.transition(
            session, app, Event.RELEASE, actor=f"center:{section.center_code}", now=now, reason=reason,
            event_data=_guarantee_data(section, guarantee, reason=reason),
        )  # fmt: skip
        released += 1
    return released


def award(session: Session, section: Section, *, winner_uscc: str, now: datetime) -> Outcome:
    """The award is published: the other bidders' bid guarantees are released (解保)."""
    try:
        winner = str(Uscc.parse(winner_uscc))
    except UsccError as exc:
        raise errors.InvalidBidderUscc(f"winner_uscc: {exc}") from exc
    if section.status != "open" and not (section.status == "awarded" and section.winner_uscc == winner):
        raise errors.EventOutOfOrder(f"section {section.code} is {section.status}; it cannot be awarded")
    first = section.status == "open"
    section.status, section.winner_uscc = "awarded", winner
    others = [g for g in _standing(session, section.code, STANDING) if g.bidder_uscc != winner]
    outcome = Outcome(section, released=_release(session, section, others, reason="award published", now=now))
    finance.on_awarded(session, section.code, now=now)
    if first:
        audit.append(
            session,
            actor=f"center:{section.center_code}",
            action="section.awarded",
            object_type="section",
            object_id=section.code,
            after={"winner_uscc": winner},
            at=now,
        )
        emit(
            session,
            "section.awarded",
            {**section_event_data(section), "winner_uscc": winner},
            center=section.center_code,
        )
    return outcome


def contract_signed(session: Session, section: Section, *, signed_on: date, now: datetime) -> Outcome:
    """The winner signed the contract: its bid guarantee is released."""
    repeat = section.status == "contract_signed" and section.contract_signed_on == signed_on
    if section.status != "awarded" and not repeat:
        raise errors.EventOutOfOrder(
            f"section {section.code} is {section.status}; contract_signed follows awarded"
        )
    section.status, section.contract_signed_on = "contract_signed", signed_on
    winners = [g for g in _standing(session, section.code, STANDING) if g.bidder_uscc == section.winner_uscc]
    outcome = Outcome(
        section, released=_release(session, section, winners, reason="contract signed", now=now)
    )
    finance.on_contract_signed(session, section.code, signed_on=signed_on, now=now)
    if not repeat:
        audit.append(
            session,
            actor=f"center:{section.center_code}",
            action="section.contract_signed",
            object_type="section",
            object_id=section.code,
            after={"signed_on": signed_on.isoformat()},
            at=now,
        )
        emit(
            session,
            "section.contract_signed",
            {**section_event_data(section), "signed_on": signed_on.isoformat()},
            center=section.center_code,
        )
    return outcome
