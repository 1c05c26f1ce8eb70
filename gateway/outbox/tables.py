"""Outbox: events written in the business transaction, delivered after commit by workers.

- `outbox`: one row per event, with its audience (the center, institution and escrow bank it concerns);
  the events API shows a party the events of its audience.
- `webhook_subscriptions`: where a party wants its events POSTed, and which types.
- `outbox_deliveries`: one row per (event, subscription), made by `emit` in the business transaction
  (routing is decided at emit time), carrying the delivery state a worker claims and updates.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db import Base, UtcDateTime

Serial = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # over all its deliveries
    # Set when every delivery of the event has succeeded (NULL while any is pending or dead).
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # The audience: who the event concerns (and who may read it through the events API).
    center_code: Mapped[str | None] = mapped_column(String(64), index=True)
    institution_code: Mapped[str | None] = mapped_column(String(64), index=True)
    bank_code: Mapped[str | None] = mapped_column(String(64), index=True)

    deliveries: Mapped[list[OutboxDelivery]] = relationship(back_populates="event")


class WebhookSubscription(Base):
    """A party's webhook: `event_types` is a space-separated list of types or patterns (`*`,
    `guarantee.*`, `deposit.received`)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    party_kind: Mapped[str] = mapped_column(String(20))  # center | institution | bank
    party_code: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(500))
    event_types: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_webhook_subscriptions_party", "party_kind", "party_code"),)


class OutboxDelivery(Base):
    """The delivery of one event to one subscription: pending -> delivering (claimed under a lease) ->
    delivered, or back to pending with a later `next_attempt_at`, or dead once the retry schedule is
    exhausted (redeliver puts it back to pending)."""

    __tablename__ = "outbox_deliveries"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # pending | delivering | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer)
    # When the current retry cycle began (creation or the last redeliver): the schedule's origin.
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    locked_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    event: Mapped[OutboxEvent] = relationship(back_populates="deliveries")
    subscription: Mapped[WebhookSubscription] = relationship()

    __table_args__ = (
        UniqueConstraint("outbox_id", "subscription_id", name="uq_outbox_deliveries_event_subscription"),
        Index("ix_outbox_deliveries_due", "status", "next_attempt_at"),
    )
