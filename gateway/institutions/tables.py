"""Institutions as data: who they are, what they sell at what price, where, and how we reach them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class Institution(Base):
    __tablename__ = "institutions"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # contracts.InstitutionKind
    products: Mapped[str] = mapped_column(Text)  # JSON list of contracts.Product
    fee_schedule: Mapped[str] = mapped_column(Text)  # JSON, gateway.broker.pricing
    min_amount_fen: Mapped[int] = mapped_column(BigInteger)
    max_amount_fen: Mapped[int] = mapped_column(BigInteger)
    centers: Mapped[str] = mapped_column(Text)  # JSON list of center codes served
    decision: Mapped[str] = mapped_column(String(20))  # contracts.DecisionMode
    mode: Mapped[str] = mapped_column(String(20))  # contracts.IntegrationMode
    key_id: Mapped[str] = mapped_column(String(100))
    certificate_pem: Mapped[str] = mapped_column(Text)  # SM2 certificate: verifies what it signs
    platform_fee_ppm: Mapped[int] = mapped_column(Integer)  # the platform's share of each premium
    record: Mapped[int] = mapped_column(Integer)  # track record score used in ranking (higher first)
    active: Mapped[bool] = mapped_column(Boolean)
    # Push mode: the institution's API base URL (docs/partner-push.md); NULL for the other modes.
    push_base_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
