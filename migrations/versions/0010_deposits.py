"""Cash deposits, deposit notices, exceptions, refunds and forfeits (issue #8).

Revision ID: 0010_deposits
Revises: 0009_partner_push
Create Date: 2026-11-22

Reserved in the chain so parallel work can fill it in; empty until then.
"""

from __future__ import annotations

revision = "0010_deposits"
down_revision = "0009_partner_push"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
