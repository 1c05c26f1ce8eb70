"""Trading centers and their tender sections (the Center API that upserts them is a later issue)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class Center(Base):
    __tablename__ = "centers"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The center's cap on the premium rate, in ppm of the amount (3‰ = 3000); None: no cap.
    rate_cap_ppm: Mapped[int | None] = mapped_column(Integer)
    allocation_policy: Mapped[str] = mapped_column(String(20))  # matching.AllocationPolicy
    round_robin_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Section(Base):
    """A tender section (标段), with contracts.SectionDescriptor's fields and a status."""

    __tablename__ = "sections"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    center_code: Mapped[str] = mapped_column(ForeignKey("centers.code"), index=True)
    project_code: Mapped[str] = mapped_column(String(100))
    project_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    tenderee_name: Mapped[str] = mapped_column(String(200))
    tenderee_uscc: Mapped[str] = mapped_column(String(18))
    deposit_fen: Mapped[int] = mapped_column(BigInteger)
    bid_deadline_at: Mapped[datetime] = mapped_column(UtcDateTime())
    bid_opening_at: Mapped[datetime] = mapped_column(UtcDateTime())
    bid_validity_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # open | terminated | awarded
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
