"""Guarantees: an index on section_code. The bid-opening check and the section's standing guarantees
are read by section; without it each read scanned every guarantee ever issued.

Revision ID: 0017_guarantees_section_index
Revises: 0015_ledger_identity_trigger
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0017_guarantees_section_index"
down_revision = "0015_ledger_identity_trigger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_guarantees_section_code", "guarantees", ["section_code"])


def downgrade() -> None:
    op.drop_index("ix_guarantees_section_code", table_name="guarantees")
