"""Outbox delivery: the events' audience, webhook subscriptions, per-subscriber delivery state.

Revision ID: 0005_outbox_delivery
Revises: 0004_system_auth
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_outbox_delivery"
down_revision = "0004_system_auth"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AUDIENCE = ("center_code", "institution_code", "bank_code")


def upgrade() -> None:
    for column in AUDIENCE:
        op.add_column("outbox", sa.Column(column, sa.String(64), nullable=True))
        op.create_index(f"ix_outbox_{column}", "outbox", [column])
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("party_kind", sa.String(20), nullable=False),
        sa.Column("party_code", sa.String(64), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("event_types", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
    )
    op.create_index("ix_webhook_subscriptions_party", "webhook_subscriptions", ["party_kind", "party_code"])
    op.create_table(
        "outbox_deliveries",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("outbox_id", Serial, nullable=False),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("locked_by", sa.String(100), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_deliveries"),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name="fk_outbox_deliveries_outbox_id_outbox"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name="fk_outbox_deliveries_subscription_id_webhook_subscriptions",
        ),
        sa.UniqueConstraint("outbox_id", "subscription_id", name="uq_outbox_deliveries_event_subscription"),
    )
    op.create_index("ix_outbox_deliveries_subscription_id", "outbox_deliveries", ["subscription_id"])
    op.create_index("ix_outbox_deliveries_due", "outbox_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox_deliveries")
    op.drop_table("webhook_subscriptions")
    for column in AUDIENCE:
        op.drop_index(f"ix_outbox_{column}", table_name="outbox")
        op.drop_column("outbox", column)
