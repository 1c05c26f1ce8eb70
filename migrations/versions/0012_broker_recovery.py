"""Broker recovery: expiry and stuck-order reconciliation (issue #5).

Revision ID: 0012_broker_recovery
Revises: 0011_reconciliation
Create Date: 2026-11-22

Reserved in the chain so parallel work can fill it in; empty until then.
"""

from __future__ import annotations

revision = "0012_broker_recovery"
down_revision = "0011_reconciliation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
