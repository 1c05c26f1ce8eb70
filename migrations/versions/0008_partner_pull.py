"""The partner API in pull mode: quote requests and decisions awaiting institutions (issue #6).

Revision ID: 0008_partner_pull
Revises: 0007_claims
Create Date: 2026-11-22

Reserved in the chain so parallel work can fill it in; empty until then.
"""

from __future__ import annotations

revision = "0008_partner_pull"
down_revision = "0007_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
