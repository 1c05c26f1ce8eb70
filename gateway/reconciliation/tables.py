"""Statement imports, statement lines, reconciliation runs, matches, and the reconciliation state of
ledger items (transfers on a center's escrow bank account).

A statement line is stored once per center under the digest of its key (account, value date,
direction, amount, bank reference or place in the file: `matching.AccountLine.key`; `line_digest`):
importing the same statement again adds no line, so nothing can be matched twice.

A ledger item is closed once it is matched or written off; an open item is a transfer on the escrow
account that is closed nowhere. A match with exactly one item names it in `Match.transfer_id` (a
run's usual one-to-one and many-lines-to-one matches: one row per match, no row per item); the items
of a match with several, and written-off items, have an `ItemState` row. Each of the two columns is
unique, and the code that closes items (`service`) holds the import lock and checks both tables, so
an item is closed at most once.

Foreign keys: only the small tables have them (runs -> imports). The bulk columns (a line's import and
match, a match's run, an item state's match) carry none: a run writes up to a million rows each way,
and PostgreSQL checks a foreign key with one query per row. Those ids are written only by `service`,
from the rows it inserts in the same transaction, nothing deletes these rows, and
`repository.dangling_references` (asserted in the tests) finds any that point nowhere.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
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
    # Not indexed: matches are read by run or by id (a run writes a million of them).
    center_code: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(40), index=True)  # recon_runs.id (no FK: see above)
    rule: Mapped[str] = mapped_column(
        String(30)
    )  # reference | returned | amount_counterparty_date | group | manual
    outcome: Mapped[str] = mapped_column(
        String(10)
    )  # none | posted | voided (the pending refunds it settled)
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The match's ledger item when it has exactly one (else its items are ItemState rows).
    transfer_id: Mapped[str | None] = mapped_column(String(160), unique=True)


class StatementLineRow(Base):
    __tablename__ = "recon_statement_lines"
    __table_args__ = (
        UniqueConstraint("center_code", "line_digest", name="uq_recon_statement_lines_digest"),
        # Only the open lines (a run leaves about 1% open): the exception list and the next run read
        # them, and a million matched lines a run are not inserted into an index nobody reads them by.
        # Queries name the status as a literal ('open'), or the planner cannot use a partial index.
        Index(
            "ix_recon_statement_lines_open",
            "center_code",
            "id",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    center_code: Mapped[str] = mapped_column(String(64))
    # The first 16 bytes of SHA-256 over the line's key (`line_digest`): a fixed-size entry in the
    # unique index instead of the key text (up to 400 characters).
    line_digest: Mapped[bytes] = mapped_column(LargeBinary(16))
    import_id: Mapped[str] = mapped_column(String(40))  # recon_imports.id (no FK: see above)
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
    match_id: Mapped[str | None] = mapped_column(String(60), index=True)  # recon_matches.id (no FK)
    note: Mapped[str | None] = mapped_column(String(500))  # the write-off reason


class ItemState(Base):
    """A ledger item (a transfer on the escrow account) written off, or one of a match's several items.
    (The item of a one-item match is `Match.transfer_id`.)"""

    __tablename__ = "recon_items"
    __table_args__ = (Index("ix_recon_items_center", "center_code", "status"),)

    transfer_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    center_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # matched | written_off
    match_id: Mapped[str | None] = mapped_column(String(60), index=True)  # recon_matches.id (no FK)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
