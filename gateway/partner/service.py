"""The institution's side of pull mode: quote, decide and issue, each one short transaction.

Every check that refuses runs before anything is written, and the caller's transaction rolls back on
any refusal, so bad input changes nothing. Decisions and issuance go through the broker's own
use cases (`record_decision`, `record_issuance`), which keep the order's state machine, the ledger and
the outbox consistent.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.institutions import Decision, DecisionOutcome, IssuedGuarantee, IssueRequest
from gateway.broker import errors as broker_errors
from gateway.broker import repository as broker_repository
from gateway.broker import service as broker
from gateway.broker.tables import Application, Guarantee
from gateway.institutions.tables import Institution
from gateway.partner import errors, repository
from gateway.partner.schemas import DecisionIn, QuoteIn
from gateway.partner.tables import PartnerNotice, PartnerRoute
from signing.certificates import Sm2Certificate
from signing.signed_data import verify_canonical
from signing.sm2 import Sm2PublicKey

log = logging.getLogger("gateway.partner")
_BEFORE_DECISION = frozenset({"accepted", "under_review"})
_DECIDED = frozenset({"awaiting_payment", "paid", "rejected", *repository.ISSUED_OR_LATER})


def _routed(session: Session, application_id: str, code: str) -> tuple[Application, PartnerRoute]:
    """The application under a row lock, if it was routed to this institution (else 404)."""
    app = broker_repository.lock_application(session, application_id)
    row = repository.route(session, application_id, code, lock=True) if app is not None else None
    if app is None or row is None:
        raise broker_errors.ApplicationNotFound(f"no application {application_id!r} routed to you")
    return app, row


def _chosen(session: Session, application_id: str, code: str) -> tuple[Application, PartnerRoute]:
    """Routed to this institution and accepted by the bidder for it (else 404: not yours to act on)."""
    app, row = _routed(session, application_id, code)
    if app.institution_code != code:
        raise broker_errors.ApplicationNotFound(f"application {application_id!r} was not given to you")
    return app, row


def post_quote(session: Session, code: str, application_id: str, body: QuoteIn, *, now: datetime) -> None:
    _app, row = _routed(session, application_id, code)
    if row.quote_status != "open":
        raise errors.QuoteClosed(f"the quote request for {application_id} is {row.quote_status}")
    schedule = int(json.loads(row.quote_request)["schedule_premium_fen"])
    if body.premium_fen is not None and body.premium_fen > schedule:
        raise errors.PremiumAboveSchedule(
            f"premium {body.premium_fen} fen is above your schedule's {schedule} fen",
            schedule_premium_fen=schedule,
        )
    if body.valid_until <= now:
        raise errors.ValidUntilPast(f"valid_until {body.valid_until.isoformat()} has passed")
    institution = session.get(Institution, code)
    assert institution is not None
    row.quote_status = "answered"
    row.quote_premium_fen = body.premium_fen
    row.quote_decision = body.decision.value if body.decision else institution.decision
    row.quote_valid_until = body.valid_until
    row.quote_declined_reason = body.declined_reason
    row.updated_at = now


def post_decision(
    session: Session, code: str, application_id: str, body: DecisionIn, *, now: datetime
) -> None:
    app, row = _decider(session, application_id, code)
    if app.status in _DECIDED:
        # A push bank's callback may arrive twice, under a new Idempotency-Key, or after the status
        # query already applied the same decision: the same answer again is a harmless no-op (200).
        # Only a different answer is a conflict.
        recorded = "rejected" if app.status == "rejected" else "approved"
        if body.outcome == recorded:
            return
        raise errors.AlreadyDecided(
            f"application {application_id} was already {recorded} ({app.status}); "
            f"a different decision ({body.outcome}) is refused"
        )
    if app.status not in _BEFORE_DECISION:
        raise errors.NotAwaitingDecision(f"application {application_id} is {app.status}")
    decision = Decision(
        application_id=application_id,
        institution_code=code,
        outcome=DecisionOutcome(body.outcome),
        reason=body.reason,
    )
    broker.record_decision(session, decision, actor=f"institution:{code}", now=now)
    if row is not None:
        row.updated_at = now


def _decider(session: Session, application_id: str, code: str) -> tuple[Application, PartnerRoute | None]:
    """Who may decide: the pull institution the bidder chose (through its route), or the push
    institution the bidder chose (no route: its quote went over push HTTP), whose review decision
    arrives as a callback (docs/partner-push.md). Anyone else: 404."""
    institution = session.get(Institution, code)
    if institution is None or institution.mode != "push":
        return _chosen(session, application_id, code)
    app = broker_repository.lock_application(session, application_id)
    if app is None or app.institution_code != code:
        raise broker_errors.ApplicationNotFound(f"no application {application_id!r} given to you")
    return app, None


@functools.lru_cache(maxsize=256)
def _public_key(certificate_pem: str) -> Sm2PublicKey:
    return Sm2Certificate.from_pem(certificate_pem).sm2_public_key()


def _check_data(issued: IssuedGuarantee, app: Application, request: IssueRequest) -> None:
    data, quote = issued.data, request.quote
    expected = {
        "application_id": app.id,
        "institution_code": app.institution_code,
        "product": quote.product.value,
        "section_code": app.section_code,
        "applicant_uscc": app.bidder_uscc,
        "applicant_name": app.bidder_name,
        "beneficiary_uscc": str(request.beneficiary_uscc),
        "beneficiary_name": request.beneficiary_name,
        "amount_fen": app.amount_fen,
        "premium_fen": app.premium_fen,
        "cover_start": app.cover_start.isoformat(),
        "cover_end": app.cover_end.isoformat(),
    }
    actual = data.model_dump(mode="json")
    wrong = sorted(name for name, value in expected.items() if actual[name] != value)
    if wrong:
        raise errors.DataMismatch(
            f"the guarantee data does not match the application in: {', '.join(wrong)}", fields=wrong
        )


def _letter(issued: IssuedGuarantee) -> bytes | None:
    if issued.letter_pdf_b64 is None:
        return None
    try:
        pdf = base64.b64decode(issued.letter_pdf_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.LetterInvalid("letter_pdf_b64 is not base64") from exc
    if not pdf.startswith(b"%PDF-"):
        raise errors.LetterInvalid("letter_pdf_b64 is not a PDF")
    return pdf


def post_issuance(
    session: Session, code: str, application_id: str, issued: IssuedGuarantee, *, now: datetime
) -> None:
    app, row = _chosen(session, application_id, code)
    number = str(issued.data.guarantee_no)
    if app.status != "paid":
        if app.guarantee_no is not None:
            stored = session.get(Guarantee, app.guarantee_no)
            if (
                app.guarantee_no == number
                and stored is not None
                and stored.institution_signature == issued.signature_b64
            ):
                return  # the same issuance, posted again: already recorded
            raise errors.AlreadyIssued(
                f"guarantee {app.guarantee_no} was already issued for {application_id}"
            )
        raise errors.NotAwaitingIssuance(f"application {application_id} is {app.status}, not paid")
    if row.issue_request is None:
        raise errors.NotAwaitingIssuance(
            f"application {application_id} has no issue request yet; retry shortly"
        )
    institution = session.get(Institution, code)
    assert institution is not None
    try:
        valid = verify_canonical(_public_key(institution.certificate_pem), issued.data.signed_value(),
                                 issued.signature_b64)  # fmt: skip
    except ValueError:
        valid = False
    if not valid:
        raise errors.SignatureInvalid(
            "the SM2 signature does not verify against your certificate "
            "over canonical_json(data.signed_value())"
        )
    request = IssueRequest.model_validate_json(row.issue_request)
    _check_data(issued, app, request)
    letter = _letter(issued)
    if session.get(Guarantee, number) is not None:
        raise errors.GuaranteeNoTaken(f"guarantee number {number} is already used")
    try:
        with session.begin_nested():
            broker.record_issuance(
                session, application_id, issued, verification_code=request.verification_code,
                letter_pdf=letter, now=now,
            )  # fmt: skip
    except IntegrityError as exc:
        raise errors.GuaranteeNoTaken(f"guarantee number {number} is already used") from exc
    row.updated_at = now


def acknowledge_notice(session: Session, code: str, notice_id: int, *, now: datetime) -> None:
    notice = session.get(PartnerNotice, notice_id)
    if notice is None or notice.institution_code != code:
        raise errors.NoticeNotFound(f"no notice {notice_id}")
    if notice.acknowledged_at is None:
        notice.acknowledged_at = now
