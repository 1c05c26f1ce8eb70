"""The broker's rows: applications (the order and its state), offers, payments, guarantees."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class Application(Base):
    """One guarantee order. `live_slot` is "uscc:section:product" while the order is live and NULL
    after, under a unique constraint: the database itself refuses a second live application for the
    same bidder and section, even when two arrive at once."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bidder_uscc: Mapped[str] = mapped_column(String(18), index=True)
    bidder_name: Mapped[str] = mapped_column(String(200))
    section_code: Mapped[str] = mapped_column(ForeignKey("sections.code"), index=True)
    center_code: Mapped[str] = mapped_column(String(64))
    product: Mapped[str] = mapped_column(String(30))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    cover_start: Mapped[date] = mapped_column(Date)
    cover_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(30), index=True)
    live_slot: Mapped[str | None] = mapped_column(String(200), unique=True)
    accepted_offer_id: Mapped[str | None] = mapped_column(String(40))
    institution_code: Mapped[str | None] = mapped_column(String(64))
    premium_fen: Mapped[int | None] = mapped_column(BigInteger)
    guarantee_no: Mapped[str | None] = mapped_column(String(40))
    status_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    institution_code: Mapped[str] = mapped_column(String(64))
    premium_fen: Mapped[int] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(20))
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    rank: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    payer_uscc: Mapped[str] = mapped_column(String(18))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # pending | succeeded | failed | refunded
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    hold_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Guarantee(Base):
    """An issued guarantee: the institution's signed data, its hashes and the letter."""

    __tablename__ = "guarantees"

    guarantee_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), unique=True)
    bidder_uscc: Mapped[str] = mapped_column(String(18), index=True)
    institution_code: Mapped[str] = mapped_column(String(64))
    section_code: Mapped[str] = mapped_column(String(64), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    premium_fen: Mapped[int] = mapped_column(BigInteger)
    cover_start: Mapped[date] = mapped_column(Date)
    cover_end: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    signed_data: Mapped[str] = mapped_column(Text)  # canonical JSON the institution signed
    signed_data_sm3: Mapped[str] = mapped_column(String(64))
    institution_key_id: Mapped[str] = mapped_column(String(100))
    institution_signature: Mapped[str] = mapped_column(Text)  # base64 DER SM2
    verification_code: Mapped[str] = mapped_column(String(16))
    letter_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    letter_sm3: Mapped[str | None] = mapped_column(String(64))
