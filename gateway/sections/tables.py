"""Trading centers and their tender sections (upserted and driven by the Center API, gateway.centers)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String
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
    # What a terminated tender (流标) does to unlocked issued guarantees: "full" surrenders them with the
    # whole premium refunded; "none" releases them and the premium stays with the institution.
    termination_refund: Mapped[str] = mapped_column(String(10), default="full", server_default="full")
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
    status: Mapped[str] = mapped_column(String(20))  # open | terminated | awarded | contract_signed
    winner_uscc: Mapped[str | None] = mapped_column(String(18))
    contract_signed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
