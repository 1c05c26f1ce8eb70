"""Claims (索赔): a center's demand on a guarantee for the tenderee, and the institution's decision."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class Claim(Base):
    """One demand. `open_slot` is the guarantee number while the claim is open and NULL once decided,
    under a unique constraint: the database itself refuses a second open claim on one guarantee, even
    when two arrive at once (the broker's CLAIM transition refuses it first in the normal case).

    Forwarding to the institution happens after the filing commits: `forwarded_at` stays NULL until
    the institution acknowledged; `forward_attempts`, `next_forward_at` and `last_forward_error` drive
    and explain the retries. `decision_due` is the last Shanghai calendar day for the decision; NULL
    only while the business-day calendar does not reach back to the filing date. `decision_due_provisional`:
    the deadline runs past the holiday data and was counted on weekdays only; it is recomputed (and the
    flag cleared) once the year's State Council notice is loaded."""

    __tablename__ = "claims"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    guarantee_no: Mapped[str] = mapped_column(ForeignKey("guarantees.guarantee_no"), index=True)
    application_id: Mapped[str] = mapped_column(String(40))
    center_code: Mapped[str] = mapped_column(String(64), index=True)
    institution_code: Mapped[str] = mapped_column(String(64), index=True)
    section_code: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)  # open | paid | refused
    open_slot: Mapped[str | None] = mapped_column(String(40), unique=True)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decision_days: Mapped[int] = mapped_column(Integer)
    decision_due: Mapped[date | None] = mapped_column(Date)
    decision_due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    institution_received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    forward_attempts: Mapped[int] = mapped_column(Integer)
    next_forward_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    last_forward_error: Mapped[str | None] = mapped_column(String(500))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_reason: Mapped[str | None] = mapped_column(Text)
    paid_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
