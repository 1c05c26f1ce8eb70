"""Rows of the pull-mode partner protocol: what the gateway routed to an institution that calls in.

`PartnerRoute` is one application as seen by one pull institution: the quote request it was asked
(and its answer), the submission to review and the issue request (with the verification code the
letter must print). `PartnerNotice` is something the institution is told and acknowledges
(surrender, claim, extension request).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime

Serial = BigInteger().with_variant(Integer(), "sqlite")


class PartnerRoute(Base):
    __tablename__ = "partner_routes"
    __table_args__ = (UniqueConstraint("application_id", "institution_code"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    institution_code: Mapped[str] = mapped_column(String(64), index=True)
    quote_request: Mapped[str] = mapped_column(Text)  # JSON of contracts QuoteRequest
    quote_status: Mapped[str] = mapped_column(String(20))  # open | answered | lapsed
    quote_premium_fen: Mapped[int | None] = mapped_column(BigInteger)  # None: declined or unanswered
    quote_decision: Mapped[str | None] = mapped_column(String(20))
    quote_valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    quote_declined_reason: Mapped[str | None] = mapped_column(String(200))
    submission: Mapped[str | None] = mapped_column(Text)  # JSON ApplicationSubmission, once accepted
    issue_request: Mapped[str | None] = mapped_column(Text)  # JSON IssueRequest, once paid
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PartnerNotice(Base):
    __tablename__ = "partner_notices"
    __table_args__ = (UniqueConstraint("institution_code", "kind", "ref"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    institution_code: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # surrender | claim | extension
    ref: Mapped[str] = mapped_column(String(100))  # guarantee no, claim id, or no:new end
    guarantee_no: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # JSON of the contracts message
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
