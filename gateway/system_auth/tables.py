from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UtcDateTime


class SystemKey(Base):
    """An SM2 public key a system party (institution, center, escrow bank) signs its requests with.

    A party may have two active keys at once, so it can roll a new key out before retiring the old one.
    """

    __tablename__ = "system_keys"

    key_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    party_kind: Mapped[str] = mapped_column(String(20), index=True)  # institution | center | bank
    party_code: Mapped[str] = mapped_column(String(64), index=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # active | retired
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SeenNonce(Base):
    """Nonces of accepted signed requests, kept for the timestamp window so that every gateway process
    refuses a replay, not only the one that saw the original."""

    __tablename__ = "seen_nonces"

    key_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
