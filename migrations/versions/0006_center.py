"""The center API: section changes, extension requests, security-check locks (issue #7).

Revision ID: 0006_center
Revises: 0005_outbox_delivery
Create Date: 2026-11-22

Reserved in the chain so parallel work can fill it in; empty until then.
"""

from __future__ import annotations

revision = "0006_center"
down_revision = "0005_outbox_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
