"""Ledger: accounts, transfers and entries of the double-entry ledger (ledger/), with the triggers
that keep account identity immutable and transfers and entries append-only.

Revision ID: 0002_ledger
Revises: 0001_foundation
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACCOUNT_IDENTITY = (
    "id",
    "code",
    "kind",
    "currency",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "created_at",
)


def _money(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("debits_must_not_exceed_credits", sa.Boolean(), nullable=False),
        sa.Column("credits_must_not_exceed_debits", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _money("debits_posted"),
        _money("credits_posted"),
        _money("debits_pending"),
        _money("credits_pending"),
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
        sa.UniqueConstraint("code", name="uq_ledger_accounts_code"),
        sa.CheckConstraint(
            "kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')", name="ck_ledger_accounts_kind"
        ),
        sa.CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="ck_ledger_accounts_one_constraint",
        ),
        sa.CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
            name="ck_ledger_accounts_totals_not_negative",
        ),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("seq", Serial, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("debit_account", sa.String(200), nullable=False),
        sa.Column("credit_account", sa.String(200), nullable=False),
        _money("amount"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("pending_id", sa.String(160), nullable=True),
        sa.Column("reverses_id", sa.String(160), nullable=True),
        sa.Column("timeout_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_transfers"),
        sa.UniqueConstraint("id", name="uq_ledger_transfers_id"),
        sa.UniqueConstraint("pending_id", name="uq_ledger_transfers_pending_id"),
        sa.UniqueConstraint("reverses_id", name="uq_ledger_transfers_reverses_id"),
        sa.ForeignKeyConstraint(
            ["debit_account"],
            ["ledger_accounts.code"],
            name="fk_ledger_transfers_debit_account_ledger_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["credit_account"],
            ["ledger_accounts.code"],
            name="fk_ledger_transfers_credit_account_ledger_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["pending_id"], ["ledger_transfers.id"], name="fk_ledger_transfers_pending_id_ledger_transfers"
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["ledger_transfers.id"], name="fk_ledger_transfers_reverses_id_ledger_transfers"
        ),
        sa.CheckConstraint("amount > 0", name="ck_ledger_transfers_amount_positive"),
        sa.CheckConstraint("debit_account <> credit_account", name="ck_ledger_transfers_two_accounts"),
    )
    op.create_index("ix_ledger_transfers_timeout_at", "ledger_transfers", ["timeout_at"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("transfer_id", sa.String(160), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("account_seq", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(1), nullable=False),
        _money("posted"),
        _money("pending"),
        _money("balance_before"),
        _money("balance_after"),
        _money("debits_posted"),
        _money("credits_posted"),
        _money("debits_pending"),
        _money("credits_pending"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        sa.UniqueConstraint("account_id", "account_seq", name="uq_ledger_entries_account_seq"),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["ledger_transfers.id"], name="fk_ledger_entries_transfer_id_ledger_transfers"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name="fk_ledger_entries_account_id_ledger_accounts"
        ),
        sa.CheckConstraint("side IN ('D', 'C')", name="ck_ledger_entries_side"),
    )
    op.create_index("ix_ledger_entries_transfer_id", "ledger_entries", ["transfer_id"])
    _make_immutable()


def _make_immutable() -> None:
    """Transfers and entries refuse UPDATE and DELETE; accounts refuse DELETE and identity changes."""
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in ACCOUNT_IDENTITY)
        op.execute(
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
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_accounts_identity BEFORE UPDATE OR DELETE ON ledger_accounts "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_account_change()"
        )
        for table in ("ledger_transfers", "ledger_entries"):
            # gw_refuse_change() comes from 0001_foundation.
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION gw_refuse_change()"
            )
        return
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ACCOUNT_IDENTITY)
    op.execute(
        "CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts "
        "BEGIN SELECT RAISE(ABORT, 'ledger accounts are never deleted'); END"
    )
    op.execute(
        f"CREATE TRIGGER ledger_accounts_identity BEFORE UPDATE ON ledger_accounts WHEN {changed} "
        "BEGIN SELECT RAISE(ABORT, 'a ledger account''s identity is immutable'); END"
    )
    for table in ("ledger_transfers", "ledger_entries"):
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_account_change() CASCADE")
