"""Statement imports, statement lines, reconciliation runs, matches, and the reconciliation state of
ledger items (transfers on a center's escrow bank account).

A statement line is stored once per center under its key (account, value date, direction, amount,
bank reference or place in the file: `matching.AccountLine.key`): importing the same statement again
adds no line, so nothing can be matched twice. A ledger item has a row here only once it is matched or
written off; an open item is a transfer on the escrow account without one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime

Serial = BigInteger().with_variant(Integer(), "sqlite")


class StatementImport(Base):
    __tablename__ = "recon_imports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(10))  # csv | camt053 | mt940
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    accounts: Mapped[str] = mapped_column(String(400))  # the statements' accounts, comma-separated
    lines_total: Mapped[int] = mapped_column(Integer)
    lines_new: Mapped[int] = mapped_column(Integer)  # the rest were imported before
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Run(Base):
    """One reconciliation run and its summary (counts and fen)."""

    __tablename__ = "recon_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    import_id: Mapped[str | None] = mapped_column(ForeignKey("recon_imports.id"))
    drift_days: Mapped[int] = mapped_column(Integer)
    lines_considered: Mapped[int] = mapped_column(Integer)
    items_considered: Mapped[int] = mapped_column(Integer)
    matches: Mapped[int] = mapped_column(Integer)
    matched_lines: Mapped[int] = mapped_column(Integer)
    matched_items: Mapped[int] = mapped_column(Integer)
    matched_fen: Mapped[int] = mapped_column(BigInteger)
    unmatched_lines: Mapped[int] = mapped_column(Integer)
    unmatched_lines_fen: Mapped[int] = mapped_column(BigInteger)
    unmatched_items: Mapped[int] = mapped_column(Integer)
    unmatched_items_fen: Mapped[int] = mapped_column(BigInteger)
    refunds_posted: Mapped[int] = mapped_column(Integer)
    refunds_voided: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Match(Base):
    """Lines and items settled together: by a run (its rule) or by hand (rule "manual")."""

    __tablename__ = "recon_matches"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("recon_runs.id"), index=True)
    rule: Mapped[str] = mapped_column(
        String(30)
    )  # reference | returned | amount_counterparty_date | group | manual
    outcome: Mapped[str] = mapped_column(
        String(10)
    )  # none | posted | voided (the pending refunds it settled)
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StatementLineRow(Base):
    __tablename__ = "recon_statement_lines"
    __table_args__ = (
        UniqueConstraint("center_code", "line_key", name="uq_recon_statement_lines_key"),
        Index("ix_recon_statement_lines_open", "center_code", "status"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    center_code: Mapped[str] = mapped_column(String(64))
    line_key: Mapped[str] = mapped_column(String(400))
    import_id: Mapped[str] = mapped_column(ForeignKey("recon_imports.id"))
    account: Mapped[str] = mapped_column(String(64))
    value_date: Mapped[date] = mapped_column(Date())
    booking_date: Mapped[date | None] = mapped_column(Date())
    direction: Mapped[str] = mapped_column(String(6))  # credit | debit
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    is_reversal: Mapped[bool] = mapped_column(Boolean())
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    customer_reference: Mapped[str | None] = mapped_column(String(100))
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_account: Mapped[str | None] = mapped_column(String(64))
    narrative: Mapped[str] = mapped_column(Text())
    source_location: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))  # open | matched | written_off
    match_id: Mapped[str | None] = mapped_column(ForeignKey("recon_matches.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))  # the write-off reason


class ItemState(Base):
    """A ledger item (a transfer on the escrow account) that is no longer open."""

    __tablename__ = "recon_items"
    __table_args__ = (Index("ix_recon_items_center", "center_code", "status"),)

    transfer_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    center_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # matched | written_off
    match_id: Mapped[str | None] = mapped_column(ForeignKey("recon_matches.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
