"""Statement imports and reconciliation runs (issue #8).

Revision ID: 0011_reconciliation
Revises: 0010_deposits
Create Date: 2026-11-22

Reserved in the chain so parallel work can fill it in; empty until then.
"""

from __future__ import annotations

revision = "0011_reconciliation"
down_revision = "0010_deposits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
