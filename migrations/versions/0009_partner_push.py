"""The push-mode partner adapter's state (issue #6): where the gateway reaches a push institution.

Revision ID: 0009_partner_push
Revises: 0008_partner_pull
Create Date: 2026-11-22

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_partner_push"
down_revision = "0008_partner_pull"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot ALTER a table in place for everything; PostgreSQL just adds the column.
    with op.batch_alter_table("institutions") as batch:
        batch.add_column(sa.Column("push_base_url", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.drop_column("push_base_url")
