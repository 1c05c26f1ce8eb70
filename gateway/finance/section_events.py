# ruff: noqa: ARG001  (the interface comes first; finance fills the bodies in)
"""What the center side asks of finance: a bidder's cash deposit for the bid-opening check, locking
it, and what a section's terminated / awarded / contract-signed events mean for cash deposits.

The center integration (gateway.centers) calls these inside its own transaction; finance owns the
rows and the ledger postings behind them. Until cash deposits exist there is nothing to find or move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DepositSecurity:
    """A cash deposit as the bid-opening check sees it."""

    deposit_id: str
    section_code: str
    bidder_uscc: str
    payer_name: str
    amount_fen: int  # what arrived and is still held for this bidder and section
    received_at: datetime  # value time of the money on the escrow account
    status: str  # held | locked | refundable | refund_pending | refunded | forfeited


def find_deposit(session: Session, *, section_code: str, bidder_uscc: str) -> DepositSecurity | None:
    """The bidder's cash deposit for the section, or None."""
    return None


def lock_deposit(session: Session, deposit_id: str, *, now: datetime) -> None:
    """The check at opening found it valid and the center asked to lock: it can no longer be refunded
    before the award."""


def on_section_terminated(session: Session, section_code: str, *, now: datetime) -> None:
    """The tender was terminated: every held deposit of the section becomes refundable now."""


def on_awarded(session: Session, section_code: str, *, now: datetime) -> None:
    """The award was published: nothing moves yet (refunds follow contract signing)."""


def on_contract_signed(session: Session, section_code: str, *, signed_on: date, now: datetime) -> None:
    """The contract was signed: every deposit of the section becomes refundable, due within 5 calendar
    days of `signed_on`."""
