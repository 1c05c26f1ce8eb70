"""What the center side asks of finance: a bidder's cash deposit for the bid-opening check, locking
it, and what a section's terminated / awarded / contract-signed events mean for cash deposits.

The center integration (gateway.centers) calls these inside its own transaction; finance owns the
rows and the ledger postings behind them (gateway.deposits). Nothing here moves money: a deposit
becoming refundable only starts its 5-day clock; the refund batch moves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import one_of
from gateway.deposits import errors, rules
from gateway.deposits.service import active_deposit
from gateway.deposits.tables import Deposit


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
    row = active_deposit(session, section_code, bidder_uscc)
    if row is None:
        return None
    return DepositSecurity(
        deposit_id=row.id,
        section_code=row.section_code,
        bidder_uscc=row.bidder_uscc,
        payer_name=row.payer_name,
        amount_fen=row.amount_fen,
        received_at=row.received_at,
        status=row.status,
    )


def lock_deposit(session: Session, deposit_id: str, *, now: datetime) -> None:
    """The check at opening found it valid and the center asked to lock: it can no longer be refunded
    before the award."""
    lock_deposits(session, [deposit_id], now=now)


def lock_deposits(session: Session, deposit_ids: Sequence[str], *, now: datetime) -> None:
    """`lock_deposit` for a whole opening at once: the rows locked in one query, not one per bidder.
    All or nothing: an unknown id or a deposit that is neither held nor locked refuses the lot."""
    if not deposit_ids:
        return
    rows = {
        row.id: row
        for row in session.scalars(
            select(Deposit)
            .where(one_of(session, Deposit.id, deposit_ids))
            .order_by(Deposit.id)
            .with_for_update()
        )
    }
    for deposit_id in deposit_ids:
        row = rows.get(deposit_id)
        if row is None:
            raise errors.DepositNotFound(f"no deposit {deposit_id!r}")
        if row.status == rules.LOCKED:
            continue
        if row.status != rules.HELD:
            raise errors.WrongState(f"deposit {row.id} is {row.status}; only a held deposit can be locked")
        row.status, row.updated_at = rules.LOCKED, now
    session.flush()


def on_section_terminated(session: Session, section_code: str, *, now: datetime) -> None:
    """The tender was terminated: every held deposit of the section becomes refundable now."""
    _make_refundable(session, section_code, due_on=rules.refund_due(rules.local_date(now)), now=now)


def on_awarded(session: Session, section_code: str, *, now: datetime) -> None:
    """The award was published: nothing moves yet (refunds follow contract signing)."""


def on_contract_signed(session: Session, section_code: str, *, signed_on: date, now: datetime) -> None:
    """The contract was signed: every deposit of the section becomes refundable, due within 5 calendar
    days of `signed_on`."""
    _make_refundable(session, section_code, due_on=rules.refund_due(signed_on), now=now)


def _make_refundable(session: Session, section_code: str, *, due_on: date, now: datetime) -> None:
    rows = session.scalars(
        select(Deposit)
        .where(Deposit.section_code == section_code, Deposit.status.in_((rules.HELD, rules.LOCKED)))
        .order_by(Deposit.id)
        .with_for_update()
    ).all()
    for row in rows:
        row.status, row.refund_due_on, row.updated_at = rules.REFUNDABLE, due_on, now
    session.flush()
