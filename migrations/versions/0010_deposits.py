"""Cash deposits, deposit notices, exceptions, refunds and forfeits (issue #8).

Revision ID: 0010_deposits
Revises: 0009_partner_push
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_deposits"
down_revision = "0009_partner_push"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _money(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "escrow_accounts",
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("bank_code", sa.String(64), nullable=False),
        sa.Column("bank_name", sa.String(200), nullable=False),
        sa.Column("account_no", sa.String(40), nullable=False),
        sa.Column("account_name", sa.String(200), nullable=False),
        sa.Column("subaccount_prefix", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["center_code"], ["centers.code"], name="fk_escrow_accounts_center_code_centers"
        ),
        sa.PrimaryKeyConstraint("center_code", name="pk_escrow_accounts"),
        sa.UniqueConstraint("bank_code", name="uq_escrow_accounts_bank_code"),
    )
    op.create_table(
        "deposit_subaccounts",
        sa.Column("serial", Serial, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(40), nullable=True),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("section_code", sa.String(64), nullable=False),
        sa.Column("bidder_uscc", sa.String(18), nullable=False),
        sa.Column("bidder_name", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_code"], ["sections.code"], name="fk_deposit_subaccounts_section_code_sections"
        ),
        sa.PrimaryKeyConstraint("serial", name="pk_deposit_subaccounts"),
        sa.UniqueConstraint("number", name="uq_deposit_subaccounts_number"),
        sa.UniqueConstraint("section_code", "bidder_uscc", name="uq_deposit_subaccounts_holder"),
    )
    op.create_table(
        "deposit_notices",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("bank_code", sa.String(64), nullable=False),
        sa.Column("bank_reference", sa.String(64), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("content_sm3", sa.String(64), nullable=False),
        sa.Column("subaccount", sa.String(40), nullable=False),
        _money("amount_fen"),
        sa.Column("payer_name", sa.String(200), nullable=False),
        sa.Column("payer_account", sa.String(40), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("deposit_id", sa.String(40), nullable=True),
        sa.Column("exception_id", sa.String(40), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deposit_notices"),
        sa.UniqueConstraint("bank_code", "bank_reference", name="uq_deposit_notices_reference"),
    )
    op.create_index("ix_deposit_notices_center_code", "deposit_notices", ["center_code"])
    op.create_table(
        "deposits",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("section_code", sa.String(64), nullable=False),
        sa.Column("bidder_uscc", sa.String(18), nullable=False),
        sa.Column("bidder_name", sa.String(200), nullable=False),
        sa.Column("tenderee_uscc", sa.String(18), nullable=False),
        sa.Column("subaccount", sa.String(40), nullable=False),
        _money("amount_fen"),
        _money("interest_accrued_fen"),
        sa.Column("payer_name", sa.String(200), nullable=False),
        sa.Column("payer_account", sa.String(40), nullable=False),
        sa.Column("bank_reference", sa.String(64), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("refund_due_on", sa.Date(), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.Column("forfeit_reason", sa.String(500), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_code"], ["sections.code"], name="fk_deposits_section_code_sections"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deposits"),
    )
    for column in ("center_code", "section_code", "status"):
        op.create_index(f"ix_deposits_{column}", "deposits", [column])
    op.create_table(
        "deposit_exceptions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("notice_id", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        _money("amount_fen"),
        sa.Column("payer_name", sa.String(200), nullable=False),
        sa.Column("payer_account", sa.String(40), nullable=False),
        sa.Column("bank_reference", sa.String(64), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("section_code", sa.String(64), nullable=True),
        sa.Column("bidder_uscc", sa.String(18), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolution_note", sa.String(500), nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("deposit_id", sa.String(40), nullable=True),
        sa.Column("instruction_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["deposit_notices.id"], name="fk_deposit_exceptions_notice_id_deposit_notices"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deposit_exceptions"),
    )
    for column in ("center_code", "status"):
        op.create_index(f"ix_deposit_exceptions_{column}", "deposit_exceptions", [column])
    op.create_table(
        "refund_batches",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("refund_date", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_refund_batches"),
    )
    op.create_index("ix_refund_batches_center_code", "refund_batches", ["center_code"])
    op.create_table(
        "refund_instructions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=True),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("deposit_id", sa.String(40), nullable=True),
        sa.Column("exception_id", sa.String(40), nullable=True),
        sa.Column("payee_name", sa.String(200), nullable=False),
        sa.Column("payee_account", sa.String(40), nullable=False),
        _money("principal_fen"),
        _money("interest_fen"),
        _money("amount_fen"),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("bank_reference", sa.String(64), nullable=True),
        sa.Column("failure_reason", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["refund_batches.id"], name="fk_refund_instructions_batch_id_refund_batches"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_refund_instructions"),
    )
    for column in ("batch_id", "center_code", "deposit_id", "status"):
        op.create_index(f"ix_refund_instructions_{column}", "refund_instructions", [column])


def downgrade() -> None:
    for table in (
        "refund_instructions",
        "refund_batches",
        "deposit_exceptions",
        "deposits",
        "deposit_notices",
        "deposit_subaccounts",
        "escrow_accounts",
    ):
        op.drop_table(table)
