from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class IdempotencyRecord(Base):
    """A caller's Idempotency-Key: claimed while the first request runs, then its stored response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # in_flight | completed
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[str | None] = mapped_column(Text)  # JSON list of [name, value]
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
