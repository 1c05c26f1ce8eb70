"""Broker: trading centers, sections, institutions, applications, offers, payments, guarantees, outbox.

Revision ID: 0003_broker
Revises: 0002_ledger
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_broker"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _money(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "centers",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("rate_cap_ppm", sa.Integer(), nullable=True),
        sa.Column("allocation_policy", sa.String(20), nullable=False),
        sa.Column("round_robin_cursor", sa.BigInteger(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("code", name="pk_centers"),
    )
    op.create_table(
        "sections",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("project_code", sa.String(100), nullable=False),
        sa.Column("project_name", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tenderee_name", sa.String(200), nullable=False),
        sa.Column("tenderee_uscc", sa.String(18), nullable=False),
        _money("deposit_fen"),
        _time("bid_deadline_at"),
        _time("bid_opening_at"),
        sa.Column("bid_validity_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("code", name="pk_sections"),
        sa.ForeignKeyConstraint(["center_code"], ["centers.code"], name="fk_sections_center_code_centers"),
    )
    op.create_index("ix_sections_center_code", "sections", ["center_code"])
    op.create_table(
        "institutions",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("fee_schedule", sa.Text(), nullable=False),
        _money("min_amount_fen"),
        _money("max_amount_fen"),
        sa.Column("centers", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("key_id", sa.String(100), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("platform_fee_ppm", sa.Integer(), nullable=False),
        sa.Column("record", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("code", name="pk_institutions"),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("bidder_uscc", sa.String(18), nullable=False),
        sa.Column("bidder_name", sa.String(200), nullable=False),
        sa.Column("section_code", sa.String(64), nullable=False),
        sa.Column("center_code", sa.String(64), nullable=False),
        sa.Column("product", sa.String(30), nullable=False),
        _money("amount_fen"),
        sa.Column("cover_start", sa.Date(), nullable=False),
        sa.Column("cover_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("live_slot", sa.String(200), nullable=True),
        sa.Column("accepted_offer_id", sa.String(40), nullable=True),
        sa.Column("institution_code", sa.String(64), nullable=True),
        _money("premium_fen", nullable=True),
        sa.Column("guarantee_no", sa.String(40), nullable=True),
        sa.Column("status_reason", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
        sa.ForeignKeyConstraint(
            ["section_code"], ["sections.code"], name="fk_applications_section_code_sections"
        ),
        sa.UniqueConstraint("live_slot", name="uq_applications_live_slot"),
    )
    op.create_index("ix_applications_bidder_uscc", "applications", ["bidder_uscc"])
    op.create_index("ix_applications_section_code", "applications", ["section_code"])
    op.create_index("ix_applications_status", "applications", ["status"])
    op.create_table(
        "offers",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("institution_code", sa.String(64), nullable=False),
        _money("premium_fen"),
        sa.Column("decision", sa.String(20), nullable=False),
        _time("valid_until"),
        sa.Column("rank", sa.Integer(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name="fk_offers_application_id_applications"
        ),
    )
    op.create_index("ix_offers_application_id", "offers", ["application_id"])
    op.create_table(
        "payments",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("payer_uscc", sa.String(18), nullable=False),
        _money("amount_fen"),
        sa.Column("method", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("provider_ref", sa.String(100), nullable=True),
        sa.Column("failure_reason", sa.String(200), nullable=True),
        sa.Column("hold_id", sa.String(100), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name="fk_payments_application_id_applications"
        ),
    )
    op.create_index("ix_payments_application_id", "payments", ["application_id"])
    op.create_table(
        "guarantees",
        sa.Column("guarantee_no", sa.String(40), nullable=False),
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("bidder_uscc", sa.String(18), nullable=False),
        sa.Column("institution_code", sa.String(64), nullable=False),
        sa.Column("section_code", sa.String(64), nullable=False),
        _money("amount_fen"),
        _money("premium_fen"),
        sa.Column("cover_start", sa.Date(), nullable=False),
        sa.Column("cover_end", sa.Date(), nullable=False),
        _time("issued_at"),
        sa.Column("signed_data", sa.Text(), nullable=False),
        sa.Column("signed_data_sm3", sa.String(64), nullable=False),
        sa.Column("institution_key_id", sa.String(100), nullable=False),
        sa.Column("institution_signature", sa.Text(), nullable=False),
        sa.Column("verification_code", sa.String(16), nullable=False),
        sa.Column("letter_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("letter_sm3", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("guarantee_no", name="pk_guarantees"),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name="fk_guarantees_application_id_applications"
        ),
        sa.UniqueConstraint("application_id", name="uq_guarantees_application_id"),
    )
    op.create_index("ix_guarantees_bidder_uscc", "guarantees", ["bidder_uscc"])
    op.create_table(
        "outbox",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        _time("created_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_delivered_at", "outbox", ["delivered_at"])


def downgrade() -> None:
    for table in ("outbox", "guarantees", "payments", "offers", "applications", "institutions", "sections"):
        op.drop_table(table)
    op.drop_table("centers")
