"""The pure rules of cash deposits: what makes a notice odd, when a refund is due, name matching."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
# 招标投标法实施条例 art. 57: deposits and interest back within 5 (calendar) days of signing.
REFUND_DUE_DAYS: Final = 5

HELD: Final = "held"
LOCKED: Final = "locked"
REFUNDABLE: Final = "refundable"
REFUND_PENDING: Final = "refund_pending"
REFUNDED: Final = "refunded"
FORFEITED: Final = "forfeited"
DEPOSIT_STATUSES: Final = (HELD, LOCKED, REFUNDABLE, REFUND_PENDING, REFUNDED, FORFEITED)
ACTIVE: Final = (HELD, LOCKED, REFUNDABLE, REFUND_PENDING)  # still owed to the bidder

# Why a notice went to the exception queue.
UNKNOWN_SUBACCOUNT: Final = "unknown_subaccount"
AFTER_DEADLINE: Final = "after_deadline"
WRONG_AMOUNT: Final = "wrong_amount"
PAYER_NAME_MISMATCH: Final = "payer_name_mismatch"
DUPLICATE_DEPOSIT: Final = "duplicate_deposit"


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def refund_due(start: date) -> date:
    return start + timedelta(days=REFUND_DUE_DAYS)


def normalise_name(name: str | None) -> str:
    """Company names as banks print them: full-width brackets and spaces (NFKC) and blanks don't count."""
    if not name:
        return ""
    return "".join(unicodedata.normalize("NFKC", name).split())


def same_name(payer: str, bidder: str | None) -> bool:
    return bool(bidder) and normalise_name(payer) == normalise_name(bidder)


def is_late(*, value_date: date, received_at: datetime, deadline: datetime, section_open: bool) -> bool:
    """Money counts only when it was on the account by the bid deadline: a value date after the
    deadline's day, a notice after the deadline, or a section no longer open are all late."""
    return not section_open or received_at > deadline or value_date > local_date(deadline)
