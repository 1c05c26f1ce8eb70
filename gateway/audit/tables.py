from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class AuditRecord(Base):
    """One appended audit record. `seq` is assigned by the appender (previous + 1), never by a sequence,
    so a deleted row leaves a visible gap; `hash` chains it to the record before it."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    request_id: Mapped[str | None] = mapped_column(String(128))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
