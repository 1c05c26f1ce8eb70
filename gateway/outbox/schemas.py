from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventOut(BaseModel):
    """The same shape as a webhook body."""

    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    data: list[EventOut]
    has_more: bool
    next_cursor: str | None


class DeliveryOut(BaseModel):
    subscription_id: str
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class RedeliveryOut(BaseModel):
    event_id: str
    deliveries: list[DeliveryOut]
