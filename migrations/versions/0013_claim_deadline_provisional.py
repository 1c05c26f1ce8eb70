"""Claims: a decision deadline counted past the holiday data (weekdays only) is flagged provisional.

Revision ID: 0013_claim_deadline_provisional
Revises: 0012_broker_recovery
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_claim_deadline_provisional"
down_revision = "0012_broker_recovery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(
            sa.Column("decision_due_provisional", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("decision_due_provisional")
