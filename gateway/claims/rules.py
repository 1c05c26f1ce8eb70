"""The claim rules as pure functions (domain.md): who may claim what and when, the decision deadline,
whether a decision repeats or contradicts the one on record. No I/O; the service supplies the facts.

- A claim needs a guarantee that is issued or locked (an open claim already makes it `claimed`).
- It is filed within cover: the Asia/Shanghai calendar date of filing lies in [cover_start, cover_end].
- 0 < amount <= the guarantee amount, and a stated reason (URDG 758 art. 15).
- The institution decides within N business days (default 5) after the day of filing, on the State
  Council calendar (gateway.calendars.business_days: the filing day itself never counts).
- A claim is decided once: the same outcome again is a harmless repeat, another outcome is refused.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from contracts.enums import GuaranteeStatus
from contracts.identifiers import GuaranteeNo, GuaranteeNoError
from gateway.calendars.business_days import BusinessCalendar, CalendarNotCovered, Deadline
from gateway.claims import errors

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
REASON_MAX_CHARS: Final = 2000
CLAIMABLE: Final = frozenset({GuaranteeStatus.ISSUED, GuaranteeStatus.LOCKED})


class ClaimStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    REFUSED = "refused"


class Outcome(StrEnum):
    PAID = "paid"
    REFUSED = "refused"


@dataclass(frozen=True)
class GuaranteeFacts:
    guarantee_no: str
    status: GuaranteeStatus
    amount_fen: int
    cover_start: date
    cover_end: date


def shanghai_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def is_guarantee_no(value: str) -> bool:
    try:
        GuaranteeNo.check(value)
    except GuaranteeNoError:
        return False
    return True


def stated_reason(reason: str) -> str:
    """The reason as recorded: surrounding blanks removed; empty, over-long or with control characters
    (other than line breaks and tabs; PostgreSQL cannot even store NUL) is refused."""
    text = reason.strip()
    if not text:
        raise errors.ReasonRequired("state in what respect the bidder is in breach (reason is blank)")
    if len(text) > REASON_MAX_CHARS:
        raise errors.ReasonRequired(f"the reason is limited to {REASON_MAX_CHARS} characters")
    if any(unicodedata.category(char) == "Cc" and char not in "\n\r\t" for char in text):
        raise errors.ReasonRequired("the reason contains control characters")
    return text


def check_claim(guarantee: GuaranteeFacts, *, amount_fen: int, filed_at: datetime) -> None:
    """Raise the first rule the claim breaks; return when it may be filed."""
    if guarantee.status is GuaranteeStatus.CLAIMED:
        raise errors.ClaimExists(f"guarantee {guarantee.guarantee_no} already has an open claim")
    if guarantee.status not in CLAIMABLE:
        raise errors.GuaranteeNotClaimable(
            f"guarantee {guarantee.guarantee_no} is {guarantee.status.value}; only an issued or locked"
            " guarantee can be claimed",
            current_status=guarantee.status.value,
        )
    filed_on = shanghai_date(filed_at)
    if not guarantee.cover_start <= filed_on <= guarantee.cover_end:
        raise errors.OutsideCover(
            f"filed on {filed_on} (Asia/Shanghai); the guarantee covers"
            f" {guarantee.cover_start} .. {guarantee.cover_end}",
            cover_start=guarantee.cover_start.isoformat(),
            cover_end=guarantee.cover_end.isoformat(),
        )
    if not 0 < amount_fen <= guarantee.amount_fen:
        raise errors.AmountExceeded(
            f"claimed {amount_fen} fen; the guarantee amount is {guarantee.amount_fen} fen",
            guarantee_amount_fen=guarantee.amount_fen,
        )


def decision_due(filed_at: datetime, calendar: BusinessCalendar, business_days: int) -> date | None:
    """The last day (Asia/Shanghai) for the institution's decision, or None while the calendar data
    does not reach that far: a claim is never refused for want of next year's holiday notice (the
    center's right to claim ends with the cover); its deadline is filled in once the data is loaded."""
    try:
        return calendar.add_business_days(shanghai_date(filed_at), business_days)
    except CalendarNotCovered:
        return None


def decision_deadline(filed_at: datetime, calendar: BusinessCalendar, business_days: int) -> Deadline | None:
    """The decision deadline a claim is given: past the calendar's data it falls back to weekdays only
    and is flagged provisional (recomputed once the year's notice is loaded), so a claim filed in late
    December still has a deadline. None only for a filing date the data does not reach back to."""
    try:
        return calendar.deadline(shanghai_date(filed_at), business_days)
    except CalendarNotCovered:
        return None


def is_overdue(status: ClaimStatus, due: date | None, *, today: date) -> bool:
    return status is ClaimStatus.OPEN and due is not None and today > due


def is_repeat(status: ClaimStatus, outcome: Outcome) -> bool:
    """True when `outcome` is already on record; False when the claim is open (decide it now);
    raises AlreadyDecided when the claim was decided the other way."""
    if status is ClaimStatus.OPEN:
        return False
    if status.value == outcome.value:
        return True
    raise errors.AlreadyDecided(
        f"the claim was already decided: {status.value}", decided=status.value, requested=outcome.value
    )
