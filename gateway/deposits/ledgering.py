"""The ledger inside the caller's session, and the metadata every escrow-bank transfer carries.

Reconciliation matches statement lines against the escrow-account transfers by exactly these meta
keys: `bank_ref`, `counterparty_account`, `counterparty_name`, `value_date` (ISO date).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.bookkeeping.postings import Posting
from ledger import Ledger, Transfer


def book_in(session: Session, now: datetime) -> Ledger:
    connection = session.connection()
    return Ledger(connection.engine, clock=lambda: now).within(connection)


def write(session: Session, posting: Posting, now: datetime) -> list[Transfer]:
    return posting.write(book_in(session, now))


def bank_meta(
    *, bank_ref: str, counterparty_account: str, counterparty_name: str, value_date: date, **extra: str
) -> dict[str, Any]:
    return {
        "bank_ref": bank_ref,
        "counterparty_account": counterparty_account,
        "counterparty_name": counterparty_name,
        "value_date": value_date.isoformat(),
        **extra,
    }
