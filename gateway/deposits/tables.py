"""Cash deposits and the escrow bank's messages about them.

- `escrow_accounts`: a center's escrow account (保证金专户) at its escrow bank; the bank signs as
  system party (kind "bank", code `bank_code`), so a notice tells us the center.
- `deposit_subaccounts`: one virtual sub-account per (section, bidder); its serial is the row id.
- `deposit_notices`: every notice the bank sent, unique by (bank, bank reference): the same notice
  delivered again, even concurrently, finds this row instead of posting twice.
- `deposits`: money matched to a bidder and section, with its refund state.
- `deposit_exceptions`: money that could not be matched; held on the suspense account until finance
  assigns it or returns it to the payer.
- `refund_batches` / `refund_instructions`: payments out of the escrow account (refunds, returns).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime

Serial = BigInteger().with_variant(Integer(), "sqlite")


class EscrowAccount(Base):
    __tablename__ = "escrow_accounts"

    center_code: Mapped[str] = mapped_column(ForeignKey("centers.code"), primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(64), unique=True)
    bank_name: Mapped[str] = mapped_column(String(200))
    account_no: Mapped[str] = mapped_column(String(40))
    account_name: Mapped[str] = mapped_column(String(200))
    subaccount_prefix: Mapped[str] = mapped_column(String(20))


class DepositSubaccount(Base):
    __tablename__ = "deposit_subaccounts"
    __table_args__ = (UniqueConstraint("section_code", "bidder_uscc", name="uq_deposit_subaccounts_holder"),)

    serial: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    center_code: Mapped[str] = mapped_column(String(64))
    section_code: Mapped[str] = mapped_column(ForeignKey("sections.code"))
    bidder_uscc: Mapped[str] = mapped_column(String(18))
    bidder_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DepositNotice(Base):
    __tablename__ = "deposit_notices"
    __table_args__ = (UniqueConstraint("bank_code", "bank_reference", name="uq_deposit_notices_reference"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(64))
    bank_reference: Mapped[str] = mapped_column(String(64))
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    content_sm3: Mapped[str] = mapped_column(String(64))  # the notice's fields, to refuse a changed resend
    subaccount: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payer_name: Mapped[str] = mapped_column(String(200))
    payer_account: Mapped[str] = mapped_column(String(40))
    value_date: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(20))  # matched | exception
    deposit_id: Mapped[str | None] = mapped_column(String(40))
    exception_id: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Deposit(Base):
    __tablename__ = "deposits"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    section_code: Mapped[str] = mapped_column(ForeignKey("sections.code"), index=True)
    bidder_uscc: Mapped[str] = mapped_column(String(18))
    bidder_name: Mapped[str] = mapped_column(String(200))
    tenderee_uscc: Mapped[str] = mapped_column(String(18))
    subaccount: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    interest_accrued_fen: Mapped[int] = mapped_column(BigInteger)
    payer_name: Mapped[str] = mapped_column(String(200))
    payer_account: Mapped[str] = mapped_column(String(40))
    bank_reference: Mapped[str] = mapped_column(String(64))
    value_date: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # held | locked | refundable | refund_pending | refunded | forfeited
    status: Mapped[str] = mapped_column(String(20), index=True)
    refund_due_on: Mapped[date | None] = mapped_column(Date)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    forfeit_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DepositException(Base):
    __tablename__ = "deposit_exceptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("deposit_notices.id"))
    reason: Mapped[str] = mapped_column(String(40))  # unknown_subaccount | wrong_amount | ...
    detail: Mapped[str] = mapped_column(String(500))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payer_name: Mapped[str] = mapped_column(String(200))
    payer_account: Mapped[str] = mapped_column(String(40))
    bank_reference: Mapped[str] = mapped_column(String(64))
    value_date: Mapped[date] = mapped_column(Date)
    # What the sub-account pointed at, if anything (a hint for finance).
    section_code: Mapped[str | None] = mapped_column(String(64))
    bidder_uscc: Mapped[str | None] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(20), index=True)  # open | assigned | returning | returned
    resolution_note: Mapped[str | None] = mapped_column(String(500))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    deposit_id: Mapped[str | None] = mapped_column(String(40))
    instruction_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RefundBatch(Base):
    __tablename__ = "refund_batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    refund_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RefundInstruction(Base):
    __tablename__ = "refund_instructions"

    # Also the reference sent to the bank (and the ledger's bank_ref).
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("refund_batches.id"), index=True)
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # refund | return (an exception back to its payer)
    deposit_id: Mapped[str | None] = mapped_column(String(40), index=True)
    exception_id: Mapped[str | None] = mapped_column(String(40))
    payee_name: Mapped[str] = mapped_column(String(200))
    payee_account: Mapped[str] = mapped_column(String(40))
    principal_fen: Mapped[int] = mapped_column(BigInteger)
    interest_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    value_date: Mapped[date] = mapped_column(Date)  # the date the money leaves (the refund date)
    status: Mapped[str] = mapped_column(String(20), index=True)  # created | sent | succeeded | failed
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
