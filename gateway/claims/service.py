"""Claim use cases, each one short transaction on a given Session (never commits).

Filing and deciding step the guarantee's order through the broker's `transition` (CLAIM, PAY_CLAIM,
REFUSE_CLAIM) in the same transaction as the claim row, its audit record and its event, so the
guarantee's status and the claim can never disagree. Forwarding to the institution happens between
transactions (gateway.claims.workflow): `lease_forwards` before the call, `record_forwarded` or
`record_forward_failure` after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.enums import GuaranteeStatus
from contracts.institutions import Claim as ClaimMessage
from contracts.institutions import ClaimAck
from gateway.audit import service as audit
from gateway.broker import repository as broker_repository
from gateway.broker.machine import Event
from gateway.broker.service import transition
from gateway.broker.tables import Guarantee
from gateway.calendars.business_days import BusinessCalendar
from gateway.claims import errors, repository
from gateway.claims.rules import (
    ClaimStatus,
    GuaranteeFacts,
    Outcome,
    check_claim,
    decision_deadline,
    is_guarantee_no,
    is_repeat,
    stated_reason,
)
from gateway.claims.tables import Claim
from gateway.outbox.service import emit
from gateway.sections.tables import Section


def _snapshot(claim: Claim) -> dict[str, Any]:
    return {
        "status": claim.status,
        "guarantee_no": claim.guarantee_no,
        "amount_fen": claim.amount_fen,
        "decision_due": claim.decision_due.isoformat() if claim.decision_due else None,
        "decision_due_provisional": claim.decision_due_provisional,
        "forwarded_at": claim.forwarded_at.isoformat() if claim.forwarded_at else None,
        "paid_amount_fen": claim.paid_amount_fen,
    }


def _event_data(claim: Claim) -> dict[str, Any]:
    return {
        "claim_id": claim.id,
        "guarantee_no": claim.guarantee_no,
        "section_code": claim.section_code,
        "center_code": claim.center_code,
        "institution_code": claim.institution_code,
        "amount_fen": claim.amount_fen,
        "status": claim.status,
        "filed_at": claim.filed_at.isoformat(),
        "decision_due": claim.decision_due.isoformat() if claim.decision_due else None,
        "decision_due_provisional": claim.decision_due_provisional,
    }


def file_claim(
    session: Session,
    *,
    center_code: str,
    guarantee_no: str,
    amount_fen: int,
    reason: str,
    now: datetime,
    calendar: BusinessCalendar,
    decision_days: int,
) -> Claim:
    """The center's demand for the tenderee: checked, recorded, the guarantee moved to `claimed`."""
    # Every stored number is a contracts GuaranteeNo; anything else is unknown (and never reaches SQL).
    guarantee = session.get(Guarantee, guarantee_no) if is_guarantee_no(guarantee_no) else None
    section = session.get(Section, guarantee.section_code) if guarantee is not None else None
    # Someone else's guarantee is indistinguishable from none at all (object-level authorization).
    if guarantee is None or section is None or section.center_code != center_code:
        raise errors.GuaranteeNotFound(f"no guarantee {guarantee_no!r} in your sections")
    text = stated_reason(reason)
    app = broker_repository.lock_application(session, guarantee.application_id)
    assert app is not None
    facts = GuaranteeFacts(
        guarantee_no=guarantee.guarantee_no,
        status=GuaranteeStatus(app.status),
        amount_fen=guarantee.amount_fen,
        cover_start=guarantee.cover_start,
        cover_end=guarantee.cover_end,
    )
    check_claim(facts, amount_fen=amount_fen, filed_at=now)
    due = decision_deadline(now, calendar, decision_days)
    claim = Claim(
        id=f"cl_{secrets.token_hex(10)}",
        guarantee_no=guarantee.guarantee_no,
        application_id=app.id,
        center_code=center_code,
        institution_code=guarantee.institution_code,
        section_code=guarantee.section_code,
        amount_fen=amount_fen,
        reason=text,
        status=ClaimStatus.OPEN.value,
        open_slot=guarantee.guarantee_no,
        filed_at=now,
        decision_days=decision_days,
        decision_due=due.day if due else None,
        decision_due_provisional=due.provisional if due else False,
        forward_attempts=0,
        next_forward_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(claim)
            session.flush()
    except IntegrityError:
        raise errors.ClaimExists(f"guarantee {guarantee_no} already has an open claim") from None
    actor = f"center:{center_code}"
    # The guarantee's event keeps the guarantee's status ("claimed"); the claim's is `claim_status`.
    claim_facts = _event_data(claim)
    claim_facts["claim_status"] = claim_facts.pop("status")
    transition(session, app, Event.CLAIM, actor=actor, now=now, reason=f"claim {claim.id}",
               event_data={**claim_facts, "reason": text})  # fmt: skip
    audit.append(session, actor=actor, action="claim.filed", object_type="claim", object_id=claim.id,
                 after={**_snapshot(claim), "reason": text}, at=now)  # fmt: skip
    return claim


def claim_message(claim: Claim) -> ClaimMessage:
    """What the institution receives (contracts.institutions.Claim)."""
    return ClaimMessage.model_validate(
        {
            "claim_id": claim.id,
            "guarantee_no": claim.guarantee_no,
            "institution_code": claim.institution_code,
            "amount_fen": claim.amount_fen,
            "reason": claim.reason,
        }
    )


def lease_forwards(
    session: Session, *, now: datetime, until: datetime, limit: int, claim_id: str | None = None
) -> list[tuple[ClaimMessage, int]]:
    """The due forwards (or only `claim_id`'s, when due) with their attempt number, leased so that no
    other worker sends them meanwhile."""
    rows = repository.lease_due_forwards(session, now=now, until=until, limit=limit, claim_id=claim_id)
    return [(claim_message(row), row.forward_attempts) for row in rows]


def record_forwarded(session: Session, ack: ClaimAck, *, institution_code: str, now: datetime) -> None:
    claim = repository.lock_claim(session, ack.claim_id)
    if claim is None or claim.institution_code != institution_code or claim.forwarded_at is not None:
        return
    before = _snapshot(claim)
    claim.forwarded_at = now
    claim.institution_received_at = ack.received_at
    claim.next_forward_at = None
    claim.last_forward_error = None
    claim.updated_at = now
    audit.append(
        session,
        actor=f"institution:{institution_code}",
        action="claim.forwarded",
        object_type="claim",
        object_id=claim.id,
        before=before,
        after=_snapshot(claim),
        at=now,
    )


def record_forward_failure(
    session: Session, claim_id: str, error: str, *, retry_at: datetime, now: datetime
) -> None:
    claim = repository.lock_claim(session, claim_id)
    if claim is None or claim.forwarded_at is not None:
        return
    claim.last_forward_error = error[:500]
    # A claim decided meanwhile (the institution heard of it another way) needs no more forwarding.
    claim.next_forward_at = retry_at if claim.status == ClaimStatus.OPEN.value else None
    claim.updated_at = now


def decide(
    session: Session,
    *,
    claim_id: str,
    institution_code: str,
    outcome: Outcome,
    reason: str | None,
    now: datetime,
    actor: str,
) -> Claim:
    """The institution pays (the claimed amount) or refuses (with its reason); decided once."""
    claim = repository.lock_claim(session, claim_id)
    if claim is None or claim.institution_code != institution_code:
        raise errors.ClaimNotFound(f"no claim {claim_id!r} for this institution")
    if is_repeat(ClaimStatus(claim.status), outcome):
        return claim
    if outcome is Outcome.REFUSED:
        text: str | None = stated_reason(reason or "")
    else:
        text = stated_reason(reason) if reason and reason.strip() else None
    app = broker_repository.lock_application(session, claim.application_id)
    assert app is not None
    event = Event.PAY_CLAIM if outcome is Outcome.PAID else Event.REFUSE_CLAIM
    transition(session, app, event, actor=actor, now=now, reason=text or f"claim {claim.id} {outcome.value}")
    before = _snapshot(claim)
    claim.status = outcome.value
    claim.open_slot = None
    claim.decided_at = now
    claim.decision_reason = text
    claim.paid_amount_fen = claim.amount_fen if outcome is Outcome.PAID else None
    claim.updated_at = now
    audit.append(session, actor=actor, action="claim.decided", object_type="claim", object_id=claim.id,
                 before=before, after={**_snapshot(claim), "reason": text}, at=now)  # fmt: skip
    data = {**_event_data(claim), "outcome": outcome.value, "paid_amount_fen": claim.paid_amount_fen,
            "reason": text, "decided_at": now.isoformat()}  # fmt: skip
    emit(session, "claim.decided", data, center=claim.center_code, institution=claim.institution_code)
    return claim


def fill_missing_deadlines(
    session: Session, calendar: BusinessCalendar, *, limit: int = 500
) -> Sequence[str]:
    """Deadlines of open claims that have none or only a provisional one (weekdays only, past the
    holiday data), recomputed now; a provisional one is replaced once the calendar covers it."""
    filled = []
    for claim in repository.without_deadline(session, limit=limit):
        due = decision_deadline(claim.filed_at, calendar, claim.decision_days)
        if due is None or (claim.decision_due is not None and due.provisional):
            continue  # nothing better known yet
        claim.decision_due, claim.decision_due_provisional = due.day, due.provisional
        filled.append(claim.id)
    return filled
