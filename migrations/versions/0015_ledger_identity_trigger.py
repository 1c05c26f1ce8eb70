"""Ledger: the account-identity trigger fires only for UPDATEs that name an identity column.

``ledger_accounts_identity`` refused any change to an account's identity (id, code, kind, currency,
flags, created_at) but ran for every UPDATE, including the ledger's own balance updates, which name
only the running totals and the chain head (about a microsecond per account row on SQLite, a PL/pgSQL
call per row on PostgreSQL). An UPDATE whose SET list names no identity column cannot change one, so
``BEFORE UPDATE OF <identity columns>`` refuses exactly the same changes. On PostgreSQL the trigger
keeps refusing DELETE as before (same function).

Revision ID: 0015_ledger_identity_trigger
Revises: 0014_recon_match_rows
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0015_ledger_identity_trigger"
down_revision = "0014_recon_match_rows"
branch_labels = None
depends_on = None

ACCOUNT_IDENTITY = (
    "id",
    "code",
    "kind",
    "currency",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "created_at",
)


def _recreate(update: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # ledger_refuse_account_change() comes from 0002_ledger and is unchanged.
        op.execute("DROP TRIGGER IF EXISTS ledger_accounts_identity ON ledger_accounts")
        op.execute(
            f"CREATE TRIGGER ledger_accounts_identity BEFORE {update} OR DELETE ON ledger_accounts "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_account_change()"
        )
        return
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ACCOUNT_IDENTITY)
    op.execute("DROP TRIGGER IF EXISTS ledger_accounts_identity")
    op.execute(
        f"CREATE TRIGGER ledger_accounts_identity BEFORE {update} ON ledger_accounts WHEN {changed} "
        "BEGIN SELECT RAISE(ABORT, 'a ledger account''s identity is immutable'); END"
    )


def upgrade() -> None:
    _recreate(f"UPDATE OF {', '.join(ACCOUNT_IDENTITY)}")


def downgrade() -> None:
    _recreate("UPDATE")
