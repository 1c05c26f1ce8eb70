"""The center API: section outcomes, the center's termination refund policy, extension requests.

Revision ID: 0006_center
Revises: 0005_outbox_delivery
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_center"
down_revision = "0005_outbox_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("centers") as batch:
        batch.add_column(
            sa.Column("termination_refund", sa.String(10), nullable=False, server_default="full")
        )
    with op.batch_alter_table("sections") as batch:
        batch.add_column(sa.Column("winner_uscc", sa.String(18), nullable=True))
        batch.add_column(sa.Column("contract_signed_on", sa.Date(), nullable=True))
    op.create_table(
        "extension_requests",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("guarantee_no", sa.String(40), nullable=False),
        sa.Column("institution_code", sa.String(64), nullable=False),
        sa.Column("section_code", sa.String(64), nullable=False),
        sa.Column("required_cover_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("new_cover_end", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_extension_requests"),
        sa.ForeignKeyConstraint(
            ["guarantee_no"],
            ["guarantees.guarantee_no"],
            name="fk_extension_requests_guarantee_no_guarantees",
        ),
        sa.UniqueConstraint("guarantee_no", "required_cover_end", name="uq_extension_requests_guarantee_no"),
    )
    op.create_index("ix_extension_requests_section_code", "extension_requests", ["section_code"])
    op.create_index("ix_extension_requests_status", "extension_requests", ["status"])


def downgrade() -> None:
    op.drop_table("extension_requests")
    with op.batch_alter_table("sections") as batch:
        batch.drop_column("contract_signed_on")
        batch.drop_column("winner_uscc")
    with op.batch_alter_table("centers") as batch:
        batch.drop_column("termination_refund")
