"""System parties' SM2 request keys (two active per party for rotation) and remembered nonces.

Revision ID: 0004_system_auth
Revises: 0003_broker
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_system_auth"
down_revision = "0003_broker"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "system_keys",
        sa.Column("key_id", sa.String(100), nullable=False),
        sa.Column("party_kind", sa.String(20), nullable=False),
        sa.Column("party_code", sa.String(64), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_system_keys"),
    )
    op.create_index("ix_system_keys_party_kind", "system_keys", ["party_kind"])
    op.create_index("ix_system_keys_party_code", "system_keys", ["party_code"])
    op.create_table(
        "seen_nonces",
        sa.Column("key_id", sa.String(100), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "nonce", name="pk_seen_nonces"),
    )
    op.create_index("ix_seen_nonces_expires_at", "seen_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_table("seen_nonces")
    op.drop_table("system_keys")
