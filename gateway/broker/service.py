"""The broker's use cases, each one short transaction on a given Session (never commits).

Every state change goes through `transition` (public: later domains lock, release and claim with it):
the row is already locked, `machine.step` decides, and the
new status, the ledger postings the move's effects call for, the audit record and an outbox event are
written in the caller's transaction. Calls to institutions and payment providers happen between these
transactions (see `gateway.broker.workflow`), never inside one.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.enums import DecisionMode, GuaranteeStatus, Product, SurrenderReason
from contracts.institutions import (
    ApplicationSubmission,
    Decision,
    DecisionOutcome,
    IssuedGuarantee,
    IssueRequest,
    Quote,
    QuoteRequest,
)
from contracts.payments import PaymentRequest, PaymentResult, PaymentStatus
from contracts.uscc import Uscc, UsccError
from gateway.audit import service as audit
from gateway.bookkeeping import postings
from gateway.bookkeeping.postings import Posting
from gateway.broker import errors, repository
from gateway.broker.machine import LIVE, Effect, Event, Refused, step
from gateway.broker.matching import AllocationPolicy, Candidate, allocate
from gateway.broker.pricing import OutsideSchedule, fee_fen, parse_schedule, price
from gateway.broker.tables import Application, Guarantee, Offer, Payment
from gateway.errors import GatewayError
from gateway.institutions.tables import Institution
from gateway.outbox.service import Audience, emit_all
from gateway.sections.tables import Center, Section
from ledger import AccountNotFound, Ledger
from signing.canonical import canonical_json
from signing.certificates import Sm2Certificate
from signing.signed_data import verify_canonical
from signing.sm2 import Sm2PublicKey
from signing.sm3 import sm3_hex

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
S = GuaranteeStatus
_PAID_OR_LATER: Final = frozenset({S.PAID, S.ISSUED, S.LOCKED, S.RELEASED, S.CLAIMED, S.CLAIM_PAID,
                                   S.CLAIM_REFUSED, S.SURRENDERED, S.EXPIRED})  # fmt: skip
# The guarantee's own events (the center integration's vocabulary, gateway.outbox.service.EVENT_TYPES),
# emitted next to `application.<status>` when an order enters these states.
_GUARANTEE_EVENTS: Final = {S.ISSUED: "guarantee.issued", S.SURRENDERED: "guarantee.surrendered",
                            S.RELEASED: "guarantee.released", S.CLAIMED: "guarantee.claimed"}  # fmt: skip
_VERIFICATION_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def parse_bidder(subject: str) -> Uscc:
    try:
        return Uscc.parse(subject)
    except UsccError as exc:
        raise errors.InvalidUscc(str(exc)) from exc


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def _slot(uscc: str, section_code: str, product: str) -> str:
    return f"{uscc}:{section_code}:{product}"


def _ledger(session: Session) -> Ledger:
    """The ledger inside the order's transaction, without a savepoint per posting: the order's row
    lock keeps every other writer of its transfer ids out, a refused posting raises before writing,
    and any other failure rolls the whole transaction back (see `Ledger.within`)."""
    bind = session.get_bind()
    engine = bind.engine if hasattr(bind, "engine") else bind
    return Ledger(engine).within(session.connection(), savepoint=False)  # type: ignore[arg-type]


def _write(session: Session, posting: Posting) -> None:
    """Submit the posting; open its accounts only the first time one is missing (a failed submit runs
    in a savepoint and leaves nothing behind), which saves a lookup per account on the hot path."""
    book = _ledger(session)
    try:
        book.submit(list(posting.transfers), atomic=True)
    except AccountNotFound:
        posting.write(book)


def snapshot(app: Application) -> dict[str, Any]:
    return {"status": app.status, "institution_code": app.institution_code, "premium_fen": app.premium_fen,
            "guarantee_no": app.guarantee_no}  # fmt: skip


def _refusal(app: Application, event: Event, refused: Refused) -> GatewayError:
    status = S(app.status)
    if event in (Event.PAY, Event.ACCEPT) and status in _PAID_OR_LATER:
        return errors.AlreadyPaid(f"application {app.id} is {status.value}; its premium is already paid")
    if event is Event.SURRENDER and status is S.LOCKED:
        return errors.GuaranteeLocked("a guarantee locked at bid opening cannot be surrendered")
    return errors.InvalidTransition(str(refused), current_status=status.value, event=event.value)


_Emitted = tuple[str, Mapping[str, Any], Audience]  # an event to emit: type, data, audience


def transition(
    session: Session,
    app: Application,
    event: Event,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    fee: int = 0,
    event_data: Mapping[str, object] | None = None,
) -> None:
    """Step the machine and write state, postings, audit and outbox (the row is locked already).

    `event_data` adds the caller's facts (a claim's amount, a surrender's refund) to the
    `guarantee.<x>` event, so each change is announced once, here, whoever drives it."""
    move = _step(session, app, event, actor=actor, now=now, reason=reason, fee=fee, event_data=event_data)
    _record(session, [move], now=now)


def transition_through(
    session: Session,
    app: Application,
    steps: Sequence[tuple[Event, str | None]],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Several moves of one order in a row (each with its reason), as `transition` one after the
    other would make them, but with their audit records in one INSERT and their events in one."""
    moves = [_step(session, app, event, actor=actor, now=now, reason=reason) for event, reason in steps]
    _record(session, moves, now=now)


def _record(session: Session, moves: Sequence[tuple[audit.Entry, list[_Emitted]]], *, now: datetime) -> None:
    """Write the audit records and events of moves already made, in order: the records go in with the
    events (one statement on PostgreSQL)."""
    events = [emitted for _, move_events in moves for emitted in move_events]
    emit_all(session, events, alongside=[audit.chained(session, [entry for entry, _ in moves], at=now)])


def _step(
    session: Session,
    app: Application,
    event: Event,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    fee: int = 0,
    event_data: Mapping[str, object] | None = None,
) -> tuple[audit.Entry, list[_Emitted]]:
    """One move: the new state on the row and the move's postings written; its audit record and
    events returned for the caller to write."""
    try:
        move = step(S(app.status), event)
    except Refused as refused:
        raise _refusal(app, event, refused) from None
    before = snapshot(app)
    app.status = move.next.value
    app.live_slot = _slot(app.bidder_uscc, app.section_code, app.product) if move.next in LIVE else None
    app.version += 1
    app.updated_at = now
    if reason is not None:
        app.status_reason = reason[:200]
    for effect in move.effects:
        _carry_out(session, app, effect, fee=fee)
    entry = audit.Entry(actor, f"application.{event.value}", "application", app.id, before, snapshot(app))
    # The audience: the section's center and the institution involved (none before an offer is
    # accepted); without it no webhook subscriber would receive the event.
    audience = Audience(app.center_code, app.institution_code)
    data = {"application_id": app.id, "status": app.status, "bidder_uscc": app.bidder_uscc,
            "section_code": app.section_code}  # fmt: skip
    events: list[_Emitted] = [(f"application.{move.next.value}", data, audience)]
    guarantee_event = _GUARANTEE_EVENTS.get(move.next)
    if guarantee_event is not None and app.guarantee_no is not None:
        events.append((guarantee_event, {**data, "guarantee_no": app.guarantee_no,
                                         "institution_code": app.institution_code, **(event_data or {})},
                       audience))  # fmt: skip
    return entry, events


def transition_many(
    session: Session,
    apps: Sequence[Application],
    event: Event,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """`transition` for many orders at once (rows locked already): the same state changes, postings,
    one audit record per order and the same events, but the audit records written with one INSERT
    on one chain-head read, and the events and their deliveries with one INSERT each.

    All or nothing: an order the machine refuses raises before anything is written."""
    for app in apps:
        try:
            step(S(app.status), event)
        except Refused as refused:
            raise _refusal(app, event, refused) from None
    moves = [_step(session, app, event, actor=actor, now=now, reason=reason) for app in apps]
    _record(session, moves, now=now)


def hold_id(app: Application) -> str:
    return f"premium-hold:{app.id}"


def _carry_out(session: Session, app: Application, effect: Effect, *, fee: int) -> None:
    assert app.institution_code is not None
    assert app.premium_fen is not None
    meta = {"application_id": app.id, "bidder": app.bidder_uscc, "section": app.section_code}
    if effect is Effect.HOLD_PREMIUM:
        posting = postings.premium_hold(
            id=hold_id(app), institution=app.institution_code, amount=app.premium_fen, meta=meta
        )
    elif effect is Effect.SETTLE_PREMIUM:
        posting = postings.premium_settle(
            id=f"premium-settle:{app.id}",
            hold_id=hold_id(app),
            institution=app.institution_code,
            premium=app.premium_fen,
            fee=fee,
            meta=meta,
        )
    elif effect is Effect.VOID_PREMIUM:
        posting = postings.cancel(id=f"premium-void:{app.id}", hold_id=hold_id(app))
    else:
        share = app.premium_fen - fee
        posting = postings.premium_refund(
            id=f"premium-refund:{app.id}",
            institution=app.institution_code,
            uscc=app.bidder_uscc,
            amount=share,
            meta=meta,
        )
        if fee:
            _write(session, posting)
            posting = postings.platform_fee_refund(
                id=f"premium-fee-refund:{app.id}", uscc=app.bidder_uscc, amount=fee, meta=meta
            )
        _write(session, posting)
        # The money on its way back to the bidder: a hold until the payment provider confirms.
        posting = postings.premium_refund_payout(
            id=refund_payout_id(app), uscc=app.bidder_uscc, amount=app.premium_fen, meta=meta
        )
    _write(session, posting)


def refund_payout_id(app: Application) -> str:
    return f"premium-refund-payout:{app.id}"


def confirm_refund_payout(session: Session, application_id: str, *, succeeded: bool) -> None:
    """The provider's answer to a surrender refund: post the payout hold, or release it."""
    app = session.get(Application, application_id)
    assert app is not None
    hold = refund_payout_id(app)
    if succeeded:
        _write(session, postings.settle(id=f"{hold}:settled", hold_id=hold))
    else:
        _write(session, postings.cancel(id=f"{hold}:failed", hold_id=hold))


# --------------------------------------------------------------------------- apply


def cover_for(opening_at: datetime, validity_days: int) -> tuple[date, date]:
    """A bid guarantee covers from bid opening for the bid validity period (calendar dates, Shanghai)."""
    start = opening_at.astimezone(SHANGHAI).date()
    return start, start + timedelta(days=validity_days)


def start_application(
    session: Session,
    *,
    bidder: Uscc,
    bidder_name: str | None,
    section_code: str,
    product: Product,
    now: datetime,
) -> tuple[Application, Section, Center]:
    """A new order, already `quoting` (written with one INSERT), its section and the section's center."""
    if not bidder_name:
        # The name is printed on the letter as the applicant; a USCC in its place would make a defective
        # legal document, so there is no fallback.
        raise errors.BidderNameRequired(
            "give bidder_name, or use a token that carries the bidder's registered name"
        )
    slot = _slot(bidder, section_code, product.value)
    found = repository.section_for_application(session, section_code, slot)
    if found is None:
        raise errors.SectionNotFound(f"no section {section_code!r}")
    section, center, existing = found
    if section.status != "open" or section.bid_deadline_at <= now:
        raise errors.SectionClosed(
            f"section {section_code} closed for bids at {section.bid_deadline_at.isoformat()}"
        )
    if product is not Product.BID:
        raise errors.ProductNotOffered(f"{product.value} guarantees are not sold for sections yet; use bid")
    if existing is not None:
        raise errors.ApplicationExists(
            f"application {existing.id} for this section is {existing.status}", application_id=existing.id
        )
    cover_start, cover_end = cover_for(section.bid_opening_at, section.bid_validity_days)
    app = Application(
        id=_new_id("ap"),
        bidder_uscc=str(bidder),
        bidder_name=bidder_name,
        section_code=section_code,
        center_code=section.center_code,
        product=product.value,
        amount_fen=section.deposit_fen,
        cover_start=cover_start,
        cover_end=cover_end,
        status=S.DRAFT.value,
        live_slot=slot,
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(app)
    # The first transition's audit record (before: draft) also records the creation. It runs before
    # the row is written, so the row goes in once, in its quoting state (no INSERT then UPDATE).
    transition(session, app, Event.REQUEST_QUOTES, actor=f"bidder:{bidder}", now=now)
    try:
        session.flush()
    except IntegrityError:
        # Two applications for one slot at once: the unique live_slot refuses the second. The whole
        # transaction (audit record and event included) is rolled back by the caller.
        raise errors.ApplicationExists("a live application for this bidder and section exists") from None
    return app, section, center


def quote_requests(
    session: Session, app: Application, section: Section, center: Center, available: Sequence[str]
) -> dict[str, QuoteRequest]:
    """What to ask each eligible institution (active, sells the product, serves the center, within its
    amount limits, priced by its schedule under the center's cap, reachable through an adapter)."""
    assert center.code == app.center_code
    requests: dict[str, QuoteRequest] = {}
    for institution in repository.eligible_institutions(
        session, product=app.product, center_code=app.center_code, amount_fen=app.amount_fen
    ):
        if institution.code not in available:
            continue
        try:
            premium = price(parse_schedule(institution.fee_schedule), app.amount_fen, center.rate_cap_ppm)
        except OutsideSchedule:
            continue
        requests[institution.code] = _request_to(app, section, institution.code, premium)
    return requests


def record_quotes(
    session: Session,
    application_id: str,
    quotes: Mapping[str, Quote],
    requests: Mapping[str, QuoteRequest],
    *,
    now: datetime,
) -> Application:
    found = repository.lock_application_with_center(session, application_id)
    assert found is not None
    app, center = found
    usable = {
        code: quote
        for code, quote in quotes.items()
        if quote.premium_fen is not None
        and quote.institution_code == code
        and quote.application_id == app.id
        and 0 < quote.premium_fen.fen <= requests[code].schedule_premium_fen.fen
        and quote.valid_until > now
    }
    if S(app.status) is not S.QUOTING:
        return app  # already recorded (a retried request): keep the first answers
    if not usable:
        transition(
            session, app, Event.NO_QUOTES, actor="system:broker", now=now, reason="no institution quoted"
        )
        return app
    if center.allocation_policy == AllocationPolicy.ROUND_ROBIN.value:
        # Only round-robin needs the center's counter under a lock (one writer per center at a time).
        locked = repository.center(session, app.center_code, lock=True)
        assert locked is not None
        center = locked
    records = {row.code: row.record for row in repository.institutions(session, list(usable))}
    candidates = [
        Candidate(code, quote.premium_fen.fen, quote.decision, records.get(code, 0))
        for code, quote in usable.items()
        if quote.premium_fen is not None
    ]
    policy = AllocationPolicy(center.allocation_policy)
    loads = repository.open_load(session, list(usable)) if policy is AllocationPolicy.LEAST_LOADED else None
    shown = allocate(policy, candidates, cursor=center.round_robin_cursor, loads=loads)
    if policy is AllocationPolicy.ROUND_ROBIN:
        center.round_robin_cursor += 1
    for rank, candidate in enumerate(shown):
        quote = usable[candidate.institution_code]
        session.add(
            Offer(
                id=_new_id("of"),
                application_id=app.id,
                institution_code=candidate.institution_code,
                premium_fen=candidate.premium_fen,
                decision=quote.decision.value,
                valid_until=quote.valid_until,
                rank=rank,
                created_at=now,
            )
        )
    transition(session, app, Event.QUOTES_RECEIVED, actor="system:broker", now=now)
    return app


# --------------------------------------------------------------------------- accept and decide


def _own_locked(session: Session, application_id: str, bidder: str) -> Application:
    app = repository.lock_application(session, application_id)
    if app is None or app.bidder_uscc != bidder:
        raise errors.ApplicationNotFound(f"no application {application_id!r}")
    return app


def accept_offer(
    session: Session, *, application_id: str, bidder: str, offer_id: str, now: datetime
) -> ApplicationSubmission:
    found = repository.lock_application_in_section_with_offer(session, application_id, offer_id)
    if found is None or found[0].bidder_uscc != bidder:
        raise errors.ApplicationNotFound(f"no application {application_id!r}")
    app, section, offer = found
    if offer is None:
        raise errors.OfferNotFound(f"no offer {offer_id!r} on application {app.id}")
    if S(app.status) is S.OFFERED and offer.valid_until <= now:
        raise errors.OfferExpired(f"offer {offer_id} expired at {offer.valid_until.isoformat()}")
    app.accepted_offer_id = offer.id
    app.institution_code = offer.institution_code
    app.premium_fen = offer.premium_fen
    transition(session, app, Event.ACCEPT, actor=f"bidder:{bidder}", now=now)
    return submission_for(session, app, section)


def submission_for(
    session: Session, app: Application, section: Section | None = None
) -> ApplicationSubmission:
    assert app.institution_code is not None
    assert app.premium_fen is not None
    return ApplicationSubmission.model_validate(
        {
            "application_id": app.id,
            "institution_code": app.institution_code,
            "quote": _quote_request(app, _section_of(session, app, section)),
            "premium_fen": app.premium_fen,
        }
    )


def _section_of(session: Session, app: Application, section: Section | None) -> Section:
    """The order's section: the one the caller loaded with it, else read now."""
    if section is None:
        section = repository.section(session, app.section_code)
    assert section is not None
    assert section.code == app.section_code
    return section


def _quote_request(app: Application, section: Section) -> QuoteRequest:
    """The request as sent to the institution the bidder accepted, at the accepted premium."""
    assert app.institution_code is not None
    assert app.premium_fen is not None
    return _request_to(app, section, app.institution_code, app.premium_fen)


def _request_to(app: Application, section: Section, institution_code: str, premium_fen: int) -> QuoteRequest:
    return QuoteRequest.model_validate(
        {
            "application_id": app.id,
            "institution_code": institution_code,
            "product": app.product,
            "section_code": app.section_code,
            "bidder_uscc": app.bidder_uscc,
            "bidder_name": app.bidder_name,
            "tenderee_name": section.tenderee_name,
            "amount_fen": app.amount_fen,
            "cover_start": app.cover_start,
            "cover_end": app.cover_end,
            "schedule_premium_fen": premium_fen,
        }
    )


def record_decision(session: Session, decision: Decision, *, actor: str, now: datetime) -> Application:
    """The institution's answer to a submission: submitted (pending), approved or rejected."""
    app = repository.lock_application(session, decision.application_id)
    if app is None or app.institution_code != decision.institution_code:
        raise errors.ApplicationNotFound(f"no application {decision.application_id!r} for this institution")
    steps: list[tuple[Event, str | None]] = []
    if S(app.status) is S.ACCEPTED:
        steps.append((Event.SUBMIT, None))
    if decision.outcome is DecisionOutcome.APPROVED:
        steps.append((Event.APPROVE, decision.reason))
    elif decision.outcome is DecisionOutcome.REJECTED:
        steps.append((Event.REJECT, decision.reason or "rejected"))
    transition_through(session, app, steps, actor=actor, now=now)
    return app


# --------------------------------------------------------------------------- pay and issue


def begin_payment(
    session: Session, *, application_id: str, bidder: str, method: str, methods: frozenset[str], now: datetime
) -> PaymentRequest:
    found = repository.lock_application_with_offer(session, application_id)  # the accepted offer
    if found is None or found[0].bidder_uscc != bidder:
        raise errors.ApplicationNotFound(f"no application {application_id!r}")
    app, offer = found
    status = S(app.status)
    if status in _PAID_OR_LATER:
        raise errors.AlreadyPaid(f"application {app.id} is {status.value}; its premium is already paid")
    if status is not S.AWAITING_PAYMENT:
        raise errors.InvalidTransition(
            f"pay is not allowed when the order is {status.value}", current_status=status.value, event="pay"
        )
    if offer is not None and offer.valid_until <= now:
        # The sweep would expire this order: the quoted premium is no longer valid.
        raise errors.OfferExpired(f"offer {offer.id} expired at {offer.valid_until.isoformat()}")
    if method not in methods:
        raise errors.UnsupportedPaymentMethod(f"payment method {method!r}; use one of {sorted(methods)}")
    if any(payment.status == "pending" for payment in repository.payments_of(session, app.id)):
        raise errors.PaymentInProgress(f"a payment for application {app.id} is in progress")
    assert app.premium_fen is not None
    payment = Payment(
        id=_new_id("pay"),
        application_id=app.id,
        payer_uscc=app.bidder_uscc,
        amount_fen=app.premium_fen,
        method=method,
        status="pending",
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    session.flush()  # the payment row exists before the provider is called (PAY's audit names it)
    return PaymentRequest.model_validate(
        {"payment_id": payment.id, "application_id": app.id, "payer_uscc": app.bidder_uscc,
         "amount_fen": app.premium_fen, "method": method}
    )  # fmt: skip


def complete_payment(session: Session, result: PaymentResult, *, now: datetime) -> Application:
    return complete_payment_in_section(session, result, now=now)[0]


def complete_payment_in_section(
    session: Session, result: PaymentResult, *, now: datetime
) -> tuple[Application, Section]:
    """`complete_payment`, also giving the order's section (read with the lock) for its issue request."""
    found = repository.lock_application_of_payment(session, result.payment_id)
    assert found is not None
    payment, app, section = found
    if payment.status != "pending":
        return app, section
    payment.provider_ref = result.provider_ref
    payment.updated_at = now
    if result.status is PaymentStatus.SUCCEEDED:
        payment.status = "succeeded"
        payment.hold_id = hold_id(app)
        transition(
            session, app, Event.PAY, actor=f"bidder:{app.bidder_uscc}", now=now, reason=f"paid: {payment.id}"
        )
    else:
        payment.status = "failed"
        payment.failure_reason = (result.failure_reason or "failed")[:200]
        audit.append(session, actor="system:payments", action="payment.failed", object_type="payment",
                     object_id=payment.id, after={"reason": payment.failure_reason}, at=now)  # fmt: skip
    return app, section


def recover_payment(
    session: Session, payment_id: str, result: PaymentResult | None, *, now: datetime
) -> tuple[Application | None, Payment | None]:
    """Settle a payment left `pending` (a crash between the provider's charge and recording it) with
    what the provider says now. Returns the order when it became paid (the caller goes on to issue)
    and the payment when the money was taken for an order that can no longer be paid (to refund).

    - the provider never saw the charge (None) or it failed: the payment fails, nothing is held;
    - it succeeded and the order still awaits payment: exactly what `complete_payment` would have done
      (PAY: the premium hold);
    - it succeeded but the order moved on meanwhile (cancelled): recorded as taken, then refunded.
    """
    payment = session.get(Payment, payment_id)
    if payment is None:
        return None, None
    app = repository.lock_application(session, payment.application_id)
    assert app is not None
    session.refresh(payment)  # read after the order's lock: a concurrent completion wins
    if payment.status != "pending":
        return None, None
    if result is None:
        payment.status, payment.updated_at = "failed", now
        payment.failure_reason = "the payment provider has no record of this charge"
        audit.append(session, actor="system:payments", action="payment.failed", object_type="payment",
                     object_id=payment.id, after={"reason": payment.failure_reason}, at=now)  # fmt: skip
        return None, None
    if result.status is PaymentStatus.SUCCEEDED and S(app.status) is not S.AWAITING_PAYMENT:
        payment.status, payment.provider_ref, payment.updated_at = "refunded", result.provider_ref, now
        audit.append(session, actor="system:payments", action="payment.refunded", object_type="payment",
                     object_id=payment.id, after={"reason": f"order is {app.status}"}, at=now)  # fmt: skip
        return None, payment
    complete_payment(session, result, now=now)
    return (app if S(app.status) is S.PAID else None), None


def fail_pending_payment(session: Session, payment_id: str, reason: str, *, now: datetime) -> None:
    payment = session.get(Payment, payment_id)
    if payment is not None and payment.status == "pending":
        payment.status, payment.failure_reason, payment.updated_at = "failed", reason[:200], now


def new_verification_code() -> str:
    return "".join(secrets.choice(_VERIFICATION_ALPHABET) for _ in range(8))


def issue_request(
    session: Session, app: Application, *, verification_code: str, verify_base_url: str,
    section: Section | None = None,
) -> IssueRequest:  # fmt: skip
    section = _section_of(session, app, section)
    assert app.institution_code is not None
    assert app.premium_fen is not None
    return IssueRequest.model_validate(
        {
            "application_id": app.id,
            "institution_code": app.institution_code,
            "quote": _quote_request(app, section),
            "premium_fen": app.premium_fen,
            "beneficiary_name": section.tenderee_name,
            "beneficiary_uscc": section.tenderee_uscc,
            "section_name": section.name,
            "project_name": section.project_name,
            "verification_code": verification_code,
            "verify_base_url": verify_base_url,
        }
    )


@functools.lru_cache(maxsize=256)
def _public_key(certificate_pem: str) -> Sm2PublicKey:
    """Certificates are parsed once per process (keyed by the PEM itself: a new one is parsed anew)."""
    return Sm2Certificate.from_pem(certificate_pem).sm2_public_key()


def verify_issued(institution: Institution, issued: IssuedGuarantee, app: Application) -> None:
    """Accept only what the institution really signed, about this very application."""
    data = issued.data
    try:
        signature_ok = verify_canonical(
            _public_key(institution.certificate_pem), data.signed_value(), issued.signature_b64
        )
    except ValueError:
        signature_ok = False
    if not signature_ok:
        raise errors.InstitutionSignatureInvalid(f"{institution.code}'s signature over guarantee data fails")
    expected = (
        app.id,
        app.institution_code,
        app.bidder_uscc,
        app.section_code,
        app.amount_fen,
        app.premium_fen,
    )
    actual = (data.application_id, data.institution_code, str(data.applicant_uscc), str(data.section_code),
              data.amount_fen.fen, data.premium_fen.fen)  # fmt: skip
    if expected != actual:
        raise errors.InstitutionSignatureInvalid("the signed guarantee data does not match the application")


def record_issuance(
    session: Session, application_id: str, issued: IssuedGuarantee, *, verification_code: str,
    letter_pdf: bytes | None, now: datetime,
) -> Application:  # fmt: skip
    found = repository.lock_application_with_institution(session, application_id)
    assert found is not None
    app, institution = found
    if S(app.status) is not S.PAID:
        if app.guarantee_no == str(issued.data.guarantee_no):
            return app  # the same issuance recorded before
        raise errors.InvalidTransition(f"issue is not allowed when the order is {app.status}")
    assert institution is not None
    assert app.premium_fen is not None
    verify_issued(institution, issued, app)
    signed = canonical_json(issued.data.signed_value())
    data = issued.data
    session.add(
        Guarantee(
            guarantee_no=str(data.guarantee_no),
            application_id=app.id,
            bidder_uscc=app.bidder_uscc,
            institution_code=institution.code,
            section_code=app.section_code,
            amount_fen=data.amount_fen.fen,
            premium_fen=data.premium_fen.fen,
            cover_start=data.cover_start,
            cover_end=data.cover_end,
            issued_at=data.issued_at,
            signed_data=signed.decode(),
            signed_data_sm3=sm3_hex(signed),
            institution_key_id=issued.key_id,
            institution_signature=issued.signature_b64,
            verification_code=verification_code,
            letter_pdf=letter_pdf,
            letter_sm3=sm3_hex(letter_pdf) if letter_pdf is not None else None,
        )
    )
    app.guarantee_no = str(data.guarantee_no)
    fee = fee_fen(app.premium_fen, institution.platform_fee_ppm)
    transition(session, app, Event.ISSUE, actor=f"institution:{institution.code}", now=now, fee=fee)
    return app


def refuse_issuance(session: Session, application_id: str, reason: str, *, now: datetime) -> Payment | None:
    """The institution will not issue after payment: void the hold; return the payment to refund."""
    app = repository.lock_application(session, application_id)
    assert app is not None
    if S(app.status) is not S.PAID:
        return None
    transition(
        session, app, Event.REJECT, actor=f"institution:{app.institution_code}", now=now, reason=reason
    )
    return _mark_refunded(session, app, now)


def _mark_refunded(session: Session, app: Application, now: datetime) -> Payment | None:
    for payment in repository.payments_of(session, app.id):
        if payment.status == "succeeded":
            payment.status, payment.updated_at = "refunded", now
            return payment
    return None


def expire_offers(session: Session, *, now: datetime, limit: int = 500) -> list[str]:
    """Periodic job: orders whose quotes lapsed become expired_offer (freeing the bidder's slot).

    - offered: every offer's valid_until has passed;
    - awaiting_payment: the accepted offer's valid_until has passed and no payment is in flight (a
      `pending` payment may have taken the money: payment recovery settles it first, and a paid order
      is never expired).
    """
    expired = []
    for application_id in repository.offered_with_all_offers_lapsed(session, now=now, limit=limit):
        app = repository.lock_application(session, application_id)
        if app is not None and S(app.status) is S.OFFERED:
            transition(
                session, app, Event.OFFER_EXPIRED, actor="system:broker", now=now, reason="offers lapsed"
            )
            expired.append(app.id)
    for application_id in repository.awaiting_payment_with_lapsed_offer(session, now=now, limit=limit):
        app = repository.lock_application(session, application_id)
        if app is None or S(app.status) is not S.AWAITING_PAYMENT:
            continue
        offer = session.get(Offer, app.accepted_offer_id) if app.accepted_offer_id else None
        if offer is None or offer.valid_until > now:
            continue
        if any(payment.status == "pending" for payment in repository.payments_of(session, app.id)):
            continue
        transition(
            session, app, Event.OFFER_EXPIRED, actor="system:broker", now=now,
            reason="the accepted offer lapsed before payment",
        )  # fmt: skip
        expired.append(app.id)
    return expired


# --------------------------------------------------------------------------- cancel and surrender


def cancel(
    session: Session, *, application_id: str, bidder: str, now: datetime
) -> tuple[Application, Payment | None]:
    app = _own_locked(session, application_id, bidder)
    transition(
        session, app, Event.CANCEL, actor=f"bidder:{bidder}", now=now, reason="cancelled by the bidder"
    )
    return app, _mark_refunded(session, app, now)


def surrender(
    session: Session, *, guarantee_no: str, bidder: str, reason: SurrenderReason, now: datetime
) -> tuple[Application, Payment | None]:
    guarantee = repository.guarantee(session, guarantee_no)
    if guarantee is None or guarantee.bidder_uscc != bidder:
        raise errors.GuaranteeNotFound(f"no guarantee {guarantee_no!r}")
    app = _own_locked(session, guarantee.application_id, bidder)
    institution = session.get(Institution, app.institution_code)
    assert institution is not None
    assert app.premium_fen is not None
    section = repository.section(session, app.section_code)
    assert section is not None
    # Withdrawal or abandonment is only a refund before bids open; after opening the guarantee is the
    # bid's security (domain.md). Terminated, failed and postponed tenders refund at any time.
    if reason in (SurrenderReason.WITHDRAWN, SurrenderReason.ABANDONED) and section.bid_opening_at <= now:
        if S(app.status) is S.LOCKED:
            raise errors.GuaranteeLocked("a guarantee locked at bid opening cannot be surrendered")
        raise errors.SurrenderNotAllowed("bids are open: a withdrawn bid's guarantee is not refunded")
    fee = fee_fen(app.premium_fen, institution.platform_fee_ppm)
    transition(session, app, Event.SURRENDER, actor=f"bidder:{bidder}", now=now, reason=reason.value, fee=fee)
    return app, _mark_refunded(session, app, now)


def decision_mode(value: str) -> DecisionMode:
    return DecisionMode(value)


def institution_products(institution: Institution) -> list[str]:
    return [str(item) for item in json.loads(institution.products)]
