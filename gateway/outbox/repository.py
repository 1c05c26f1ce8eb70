"""Outbox queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.errors import GatewayError
from gateway.outbox.service import audience_column
from gateway.outbox.tables import OutboxEvent


class InvalidCursor(GatewayError):
    code = "invalid_cursor"
    title = "Invalid cursor"


def events_for(
    session: Session, *, party_kind: str, party_code: str, after: str, limit: int
) -> Sequence[OutboxEvent]:
    """The party's events in the order they were written, after the event id `after` (a cursor)."""
    column = audience_column(party_kind)
    query = select(OutboxEvent).where(column == party_code).order_by(OutboxEvent.id).limit(limit)
    if after:
        position = session.scalar(
            select(OutboxEvent.id).where(OutboxEvent.event_id == after, column == party_code)
        )
        if position is None:
            raise InvalidCursor(f"unknown cursor {after!r}: pass a next_cursor or an event id you received")
        query = query.where(OutboxEvent.id > position)
    return session.scalars(query).all()
