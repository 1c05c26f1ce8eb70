"""Claims filed by centers and decided by institutions (issue #7).

Revision ID: 0007_claims
Revises: 0006_center
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_claims"
down_revision = "0006_center"
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("guarantee_no", sa.String(40), nullable=False),
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("institution_code", sa.String(64), nullable=False),
        sa.Column("section_code", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("open_slot", sa.String(40), nullable=True),
        _time("filed_at"),
        sa.Column("decision_days", sa.Integer(), nullable=False),
        sa.Column("decision_due", sa.Date(), nullable=True),
        _time("forwarded_at", nullable=True),
        _time("institution_received_at", nullable=True),
        sa.Column("forward_attempts", sa.Integer(), nullable=False),
        _time("next_forward_at", nullable=True),
        sa.Column("last_forward_error", sa.String(500), nullable=True),
        _time("decided_at", nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("paid_amount_fen", sa.BigInteger(), nullable=True),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_claims"),
        sa.ForeignKeyConstraint(
            ["guarantee_no"], ["guarantees.guarantee_no"], name="fk_claims_guarantee_no_guarantees"
        ),
        sa.UniqueConstraint("open_slot", name="uq_claims_open_slot"),
    )
    for column in ("guarantee_no", "center_code", "institution_code", "status", "next_forward_at"):
        op.create_index(f"ix_claims_{column}", "claims", [column])


def downgrade() -> None:
    op.drop_table("claims")
