"""The ledger's own tables (``metadata``), independent of any application.

- ``ledger_accounts``: identity (code, kind, currency, flags) is immutable and rows are never
  deleted; the running totals, the last entry's sequence number and the head of the account's hash
  chain are updated under the row lock.
- ``ledger_transfers`` and ``ledger_entries``: append-only. A hold's resolution (post, void, expiry)
  and a correction (reversal) are new transfer rows that point at the original; ``pending_id`` and
  ``reverses_id`` are UNIQUE, so the database itself allows one resolution per hold and one reversal
  per transfer.

Triggers enforce the immutability on both dialects (created with the tables by `create_all` and
by the gateway's Alembic migration 0002_ledger).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments an INTEGER PRIMARY KEY.
Serial = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Naive UTC in the column on every backend, an aware UTC datetime in Python (hashes agree)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _money(name: str, **kwargs: Any) -> Column[int]:
    return Column(name, BigInteger(), nullable=False, **kwargs)


accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("code", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("debits_must_not_exceed_credits", Boolean(), nullable=False),
    Column("credits_must_not_exceed_debits", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    _money("debits_posted"),
    _money("credits_posted"),
    _money("debits_pending"),
    _money("credits_pending"),
    Column("entry_seq", BigInteger(), nullable=False),
    Column("head_hash", String(64), nullable=False),
    UniqueConstraint("code"),
    CheckConstraint("kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')", name="kind"),
    CheckConstraint(
        "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)", name="one_constraint"
    ),
    CheckConstraint(
        "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
        name="totals_not_negative",
    ),
)

transfers = Table(
    "ledger_transfers",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("id", String(160), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("debit_account", String(200), ForeignKey("ledger_accounts.code"), nullable=False),
    Column("credit_account", String(200), ForeignKey("ledger_accounts.code"), nullable=False),
    _money("amount"),
    Column("currency", String(3), nullable=False),
    Column("code", String(64), nullable=False),
    Column("meta", Text(), nullable=False),
    Column("pending_id", String(160), ForeignKey("ledger_transfers.id"), nullable=True),
    Column("reverses_id", String(160), ForeignKey("ledger_transfers.id"), nullable=True),
    Column("timeout_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("id"),
    UniqueConstraint("pending_id"),
    UniqueConstraint("reverses_id"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("debit_account <> credit_account", name="two_accounts"),
    Index("ix_ledger_transfers_timeout_at", "timeout_at"),
)

entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("transfer_id", String(160), ForeignKey("ledger_transfers.id"), nullable=False),
    Column("account_id", BigInteger(), ForeignKey("ledger_accounts.id"), nullable=False),
    Column("account_seq", BigInteger(), nullable=False),
    Column("side", String(1), nullable=False),
    _money("posted"),
    _money("pending"),
    _money("balance_before"),
    _money("balance_after"),
    _money("debits_posted"),
    _money("credits_posted"),
    _money("debits_pending"),
    _money("credits_pending"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("account_id", "account_seq", name="uq_ledger_entries_account_seq"),
    CheckConstraint("side IN ('D', 'C')", name="side"),
    Index("ix_ledger_entries_transfer_id", "transfer_id"),
)

ACCOUNT_IDENTITY = (
    "id",
    "code",
    "kind",
    "currency",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "created_at",
)
APPEND_ONLY = ("ledger_transfers", "ledger_entries")
# The identity trigger runs only for UPDATEs that name an identity column: one that names none cannot
# change one, and the ledger's own balance updates (totals and chain head only) then skip the trigger
# (migration 0015_ledger_identity_trigger).
_IDENTITY_UPDATE = f"UPDATE OF {', '.join(ACCOUNT_IDENTITY)}"


def postgresql_triggers() -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in ACCOUNT_IDENTITY)
    statements = [
        """
        CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END $$ LANGUAGE plpgsql
        """,
        f"""
        CREATE OR REPLACE FUNCTION ledger_refuse_account_change() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'ledger accounts are never deleted'
              USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF {changed} THEN
            RAISE EXCEPTION 'a ledger account''s identity is immutable'
              USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql
        """,
        (
            f"CREATE TRIGGER ledger_accounts_identity BEFORE {_IDENTITY_UPDATE} OR DELETE ON ledger_accounts "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_account_change()"
        ),
    ]
    statements += [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        for table in APPEND_ONLY
    ]
    return statements


def sqlite_triggers() -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ACCOUNT_IDENTITY)
    statements = [
        (
            "CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts "
            "BEGIN SELECT RAISE(ABORT, 'ledger accounts are never deleted'); END"
        ),
        (
            f"CREATE TRIGGER ledger_accounts_identity BEFORE {_IDENTITY_UPDATE} ON ledger_accounts "
            f"WHEN {changed} BEGIN SELECT RAISE(ABORT, 'a ledger account''s identity is immutable'); END"
        ),
    ]
    statements += [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for table in APPEND_ONLY
        for verb in ("UPDATE", "DELETE")
    ]
    return statements


def _attach_triggers() -> None:
    # Once all three tables exist (entries is created last: it references the other two).
    for statement in postgresql_triggers():
        # DDL %-formats its text.
        ddl = DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]
        event.listen(entries, "after_create", ddl.execute_if(dialect="postgresql"))
    for statement in sqlite_triggers():
        event.listen(entries, "after_create", DDL(statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]


_attach_triggers()
