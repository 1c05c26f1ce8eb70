"""The partner API in pull mode: quote requests and decisions awaiting institutions (issue #6).

Revision ID: 0008_partner_pull
Revises: 0007_claims
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_partner_pull"
down_revision = "0007_claims"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partner_routes",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("institution_code", sa.String(64), nullable=False),
        sa.Column("quote_request", sa.Text(), nullable=False),
        sa.Column("quote_status", sa.String(20), nullable=False),
        sa.Column("quote_premium_fen", sa.BigInteger(), nullable=True),
        sa.Column("quote_decision", sa.String(20), nullable=True),
        sa.Column("quote_valid_until", sa.DateTime(), nullable=True),
        sa.Column("quote_declined_reason", sa.String(200), nullable=True),
        sa.Column("submission", sa.Text(), nullable=True),
        sa.Column("issue_request", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name="fk_partner_routes_application_id_applications"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_partner_routes"),
        sa.UniqueConstraint("application_id", "institution_code", name="uq_partner_routes_application_id"),
    )
    op.create_index("ix_partner_routes_application_id", "partner_routes", ["application_id"])
    op.create_index("ix_partner_routes_institution_code", "partner_routes", ["institution_code"])
    op.create_table(
        "partner_notices",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("institution_code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("guarantee_no", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_partner_notices"),
        sa.UniqueConstraint("institution_code", "kind", "ref", name="uq_partner_notices_institution_code"),
    )
    op.create_index("ix_partner_notices_institution_code", "partner_notices", ["institution_code"])


def downgrade() -> None:
    op.drop_table("partner_notices")
    op.drop_table("partner_routes")
