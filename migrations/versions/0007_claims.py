"""Claims filed by centers and decided by institutions (issue #7).

Revision ID: 0007_claims
Revises: 0006_center
Create Date: 2026-11-22

Reserved in the chain so parallel work can fill it in; empty until then.
"""

from __future__ import annotations

revision = "0007_claims"
down_revision = "0006_center"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
