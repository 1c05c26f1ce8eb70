"""Statement imports and reconciliation runs (issue #8): imports, runs, matches, statement lines and
the reconciliation state of ledger items.

Revision ID: 0011_reconciliation
Revises: 0010_deposits
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_reconciliation"
down_revision = "0010_deposits"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recon_imports",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("accounts", sa.String(400), nullable=False),
        sa.Column("lines_total", sa.Integer(), nullable=False),
        sa.Column("lines_new", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recon_imports"),
    )
    op.create_index("ix_recon_imports_center_code", "recon_imports", ["center_code"])
    counts = ("lines_considered", "items_considered", "matches", "matched_lines", "matched_items")
    op.create_table(
        "recon_runs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("import_id", sa.String(40), nullable=True),
        sa.Column("drift_days", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counts),
        sa.Column("matched_fen", sa.BigInteger(), nullable=False),
        sa.Column("unmatched_lines", sa.Integer(), nullable=False),
        sa.Column("unmatched_lines_fen", sa.BigInteger(), nullable=False),
        sa.Column("unmatched_items", sa.Integer(), nullable=False),
        sa.Column("unmatched_items_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunds_posted", sa.Integer(), nullable=False),
        sa.Column("refunds_voided", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recon_runs"),
        sa.ForeignKeyConstraint(
            ["import_id"], ["recon_imports.id"], name="fk_recon_runs_import_id_recon_imports"
        ),
    )
    op.create_index("ix_recon_runs_center_code", "recon_runs", ["center_code"])
    op.create_table(
        "recon_matches",
        sa.Column("id", sa.String(60), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("rule", sa.String(30), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recon_matches"),
        sa.ForeignKeyConstraint(["run_id"], ["recon_runs.id"], name="fk_recon_matches_run_id_recon_runs"),
    )
    op.create_index("ix_recon_matches_center_code", "recon_matches", ["center_code"])
    op.create_index("ix_recon_matches_run_id", "recon_matches", ["run_id"])
    op.create_table(
        "recon_statement_lines",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("line_key", sa.String(400), nullable=False),
        sa.Column("import_id", sa.String(40), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("is_reversal", sa.Boolean(), nullable=False),
        sa.Column("bank_reference", sa.String(100), nullable=True),
        sa.Column("customer_reference", sa.String(100), nullable=True),
        sa.Column("counterparty_name", sa.String(200), nullable=True),
        sa.Column("counterparty_account", sa.String(64), nullable=True),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("source_location", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("match_id", sa.String(60), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recon_statement_lines"),
        sa.ForeignKeyConstraint(
            ["import_id"], ["recon_imports.id"], name="fk_recon_statement_lines_import_id_recon_imports"
        ),
        sa.ForeignKeyConstraint(
            ["match_id"], ["recon_matches.id"], name="fk_recon_statement_lines_match_id_recon_matches"
        ),
        sa.UniqueConstraint("center_code", "line_key", name="uq_recon_statement_lines_key"),
    )
    op.create_index("ix_recon_statement_lines_open", "recon_statement_lines", ["center_code", "status"])
    op.create_index("ix_recon_statement_lines_match_id", "recon_statement_lines", ["match_id"])
    op.create_table(
        "recon_items",
        sa.Column("transfer_id", sa.String(160), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("match_id", sa.String(60), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("transfer_id", name="pk_recon_items"),
        sa.ForeignKeyConstraint(
            ["match_id"], ["recon_matches.id"], name="fk_recon_items_match_id_recon_matches"
        ),
    )
    op.create_index("ix_recon_items_center", "recon_items", ["center_code", "status"])
    op.create_index("ix_recon_items_match_id", "recon_items", ["match_id"])


def downgrade() -> None:
    for table in ("recon_items", "recon_statement_lines", "recon_matches", "recon_runs", "recon_imports"):
        op.drop_table(table)
