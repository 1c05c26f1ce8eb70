"""The push-mode partner adapter's state (issue #6).

Revision ID: 0009_partner_push
Revises: 0008_partner_pull
Create Date: 2026-11-22

Reserved in the chain so parallel work can fill it in; empty until then.
"""

from __future__ import annotations

revision = "0009_partner_push"
down_revision = "0008_partner_pull"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
