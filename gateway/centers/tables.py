"""Extension requests: a guarantee whose cover no longer reaches the end of bid validity after the
opening time moved, and what its institution answered."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class ExtensionRequest(Base):
    """One per (guarantee, required cover end): the same opening change asked twice asks once."""

    __tablename__ = "extension_requests"
    __table_args__ = (UniqueConstraint("guarantee_no", "required_cover_end"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    guarantee_no: Mapped[str] = mapped_column(ForeignKey("guarantees.guarantee_no"))
    institution_code: Mapped[str] = mapped_column(String(64))
    section_code: Mapped[str] = mapped_column(String(64), index=True)
    required_cover_end: Mapped[date] = mapped_column(Date)
    # open (asked, no answer yet) | extended | refused | superseded (a later change asks again)
    status: Mapped[str] = mapped_column(String(20), index=True)
    new_cover_end: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
