"""`emit`: an outbox row in the caller's transaction (commits with the state change, or not at all)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from gateway.db import utcnow
from gateway.outbox.tables import OutboxEvent
from signing.canonical import canonical_json


def emit(session: Session, type: str, data: Mapping[str, Any]) -> OutboxEvent:  # noqa: A002
    event = OutboxEvent(
        event_id=f"evt_{uuid.uuid4().hex}",
        type=type,
        data=canonical_json(dict(data)).decode(),
        created_at=utcnow(),
        attempts=0,
    )
    session.add(event)
    return event
