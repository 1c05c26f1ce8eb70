"""The bid-security check at opening (开标验证) as a pure function: facts in, reasons out.

The service gathers the facts (one query per table) and does the cryptography (signature and digest
checks arrive here as booleans); this module only decides. domain.md's list of reasons, as codes:

    not_found, wrong_section, beneficiary_mismatch, bidder_mismatch, amount_short, cover_short,
    not_paid, issued_after_deadline, signature_invalid, surrendered, cancelled, claimed,
    released, expired (the guarantee ended otherwise), deposit_refunded (a cash deposit given back)

A locked guarantee is valid (it was valid when locked, and stays the bid's security): asking again
after a lock returns the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Final


class Reason(StrEnum):
    NOT_FOUND = "not_found"
    WRONG_SECTION = "wrong_section"
    BENEFICIARY_MISMATCH = "beneficiary_mismatch"
    BIDDER_MISMATCH = "bidder_mismatch"
    AMOUNT_SHORT = "amount_short"
    COVER_SHORT = "cover_short"
    NOT_PAID = "not_paid"
    ISSUED_AFTER_DEADLINE = "issued_after_deadline"
    SIGNATURE_INVALID = "signature_invalid"
    SURRENDERED = "surrendered"
    CANCELLED = "cancelled"
    CLAIMED = "claimed"
    RELEASED = "released"
    EXPIRED = "expired"
    DEPOSIT_REFUNDED = "deposit_refunded"


# Order statuses and what they say about the security.
_GOOD: Final = frozenset({"issued", "locked"})
_STATUS_REASON: Final = {
    "surrendered": Reason.SURRENDERED,
    "cancelled": Reason.CANCELLED,
    "claimed": Reason.CLAIMED,
    "claim_paid": Reason.CLAIMED,
    "claim_refused": Reason.CLAIMED,
    "released": Reason.RELEASED,
    "expired": Reason.EXPIRED,
}
_DEPOSIT_GOOD: Final = frozenset({"held", "locked"})


@dataclass(frozen=True)
class SectionFacts:
    code: str
    tenderee_uscc: str
    tenderee_name: str
    deposit_fen: int
    bid_deadline_at: datetime
    cover_from: date  # the cover must start on or before the opening date (Shanghai) ...
    cover_until: date  # ... and reach the end of bid validity (opening + validity days)


@dataclass(frozen=True)
class GuaranteeFacts:
    """What the stored guarantee and its signed data say; `authentic` is the cryptographic verdict
    (SM2 signature with the institution's certificate, signed-data SM3, letter SM3)."""

    guarantee_no: str
    status: str
    paid: bool
    authentic: bool
    section_code: str  # from the signed data
    applicant_uscc: str
    applicant_name: str
    beneficiary_uscc: str
    beneficiary_name: str
    amount_fen: int
    cover_start: date
    cover_end: date  # the current cover (after any extension)
    issued_at: datetime


@dataclass(frozen=True)
class PendingOrder:
    """An order of the bidder for the section with no guarantee (yet)."""

    application_id: str
    status: str


@dataclass(frozen=True)
class DepositFacts:
    deposit_id: str
    section_code: str
    bidder_uscc: str
    amount_fen: int
    received_at: datetime
    status: str


@dataclass(frozen=True)
class Bidder:
    uscc: str
    name: str


@dataclass(frozen=True)
class Verdict:
    kind: str | None  # guarantee | deposit | application | None (nothing found)
    reference: str | None  # the guarantee number, deposit id or application id
    valid: bool
    reasons: tuple[Reason, ...] = field(default=())


def guarantee_reasons(section: SectionFacts, bidder: Bidder, facts: GuaranteeFacts) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if not facts.authentic:
        reasons.append(Reason.SIGNATURE_INVALID)
    if facts.section_code != section.code:
        reasons.append(Reason.WRONG_SECTION)
    if facts.beneficiary_uscc != section.tenderee_uscc or facts.beneficiary_name != section.tenderee_name:
        reasons.append(Reason.BENEFICIARY_MISMATCH)
    if facts.applicant_uscc != bidder.uscc or _norm(facts.applicant_name) != _norm(bidder.name):
        reasons.append(Reason.BIDDER_MISMATCH)
    if facts.amount_fen < section.deposit_fen:
        reasons.append(Reason.AMOUNT_SHORT)
    if facts.cover_start > section.cover_from or facts.cover_end < section.cover_until:
        reasons.append(Reason.COVER_SHORT)
    if not facts.paid:
        reasons.append(Reason.NOT_PAID)
    if facts.issued_at > section.bid_deadline_at:
        reasons.append(Reason.ISSUED_AFTER_DEADLINE)
    status_reason = _STATUS_REASON.get(facts.status)
    if status_reason is not None:
        reasons.append(status_reason)
    elif facts.status not in _GOOD:
        reasons.append(Reason.NOT_PAID)  # never issued: nothing guarantees the bid
    return tuple(dict.fromkeys(reasons))


def deposit_reasons(section: SectionFacts, bidder: Bidder, facts: DepositFacts) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if facts.section_code != section.code:
        reasons.append(Reason.WRONG_SECTION)
    if facts.bidder_uscc != bidder.uscc:
        reasons.append(Reason.BIDDER_MISMATCH)
    if facts.amount_fen < section.deposit_fen:
        reasons.append(Reason.AMOUNT_SHORT)
    if facts.received_at > section.bid_deadline_at:
        reasons.append(Reason.ISSUED_AFTER_DEADLINE)  # the money arrived after the deadline
    if facts.status not in _DEPOSIT_GOOD:
        reasons.append(Reason.DEPOSIT_REFUNDED)
    return tuple(reasons)


def evaluate(
    section: SectionFacts,
    bidder: Bidder,
    guarantees: Sequence[GuaranteeFacts],
    pending: Sequence[PendingOrder],
    deposit: DepositFacts | None,
) -> Verdict:
    """The bidder's security: the first valid one (a guarantee, else the cash deposit), or else the
    most telling invalid one with every reason it fails."""
    checked = [(g, guarantee_reasons(section, bidder, g)) for g in guarantees]
    for facts, reasons in checked:
        if not reasons:
            return Verdict("guarantee", facts.guarantee_no, True)
    deposit_verdict = None
    if deposit is not None:
        reasons = deposit_reasons(section, bidder, deposit)
        deposit_verdict = Verdict("deposit", deposit.deposit_id, not reasons, reasons)
        if not reasons:
            return deposit_verdict
    if checked:
        # A guarantee still standing (issued/locked) explains more than one that ended; then fewest
        # reasons; then the latest issued.
        facts, reasons = min(
            checked,
            key=lambda item: (item[0].status not in _GOOD, len(item[1]), -item[0].issued_at.timestamp()),
        )
        return Verdict("guarantee", facts.guarantee_no, False, reasons)
    if deposit_verdict is not None:
        return deposit_verdict
    if pending:
        order = pending[-1]
        reason = Reason.CANCELLED if order.status == "cancelled" else Reason.NOT_PAID
        return Verdict("application", order.application_id, False, (reason,))
    return Verdict(None, None, False, (Reason.NOT_FOUND,))


def _norm(name: str) -> str:
    """Names compare without surrounding/inner blanks and full-width brackets (（）vs ()), as centers
    and institutions write company names both ways."""
    return "".join(name.split()).replace("（", "(").replace("）", ")")
