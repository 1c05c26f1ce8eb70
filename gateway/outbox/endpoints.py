"""The events API for systems (SM2-signed): a party's events, and redelivery of its webhooks.

Each system API has its own copy: `/center/v1/events` (trading centers: their sections' events),
`/partner/v1/events` (institutions: their own), `/bank/v1/events` (escrow banks).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.composition import Container
from gateway.db import transaction
from gateway.http.schemas import PROBLEM_RESPONSES
from gateway.outbox import repository, service
from gateway.outbox.schemas import DeliveryOut, EventOut, EventPage, RedeliveryOut

router = APIRouter(tags=["events"], responses={401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403]})
API_PREFIXES = {"center": "/center/v1", "institution": "/partner/v1", "bank": "/bank/v1"}


def _list_events(kind: str) -> Callable[..., EventPage]:
    def list_events(
        request: Request,
        caller: Caller = Depends(require_role(kind)),
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        after: Annotated[str, Query(max_length=40, description="a next_cursor, or an event id")] = "",
    ) -> EventPage:
        """Your events, oldest first: the same `{id, type, created_at, data}` the webhooks carry. Use
        it to catch up after an outage; webhooks remain the way to hear of events promptly."""
        container: Container = request.app.state.container
        with container.sessions() as session:
            rows = repository.events_for(
                session, party_kind=kind, party_code=caller.subject, after=after, limit=limit + 1
            )
            data = [_event_out(row.event_id, row.type, row.created_at, row.data) for row in rows[:limit]]
        has_more = len(rows) > limit
        return EventPage(data=data, has_more=has_more, next_cursor=data[-1].id if has_more else None)

    return list_events


def _redeliver(kind: str) -> Callable[..., RedeliveryOut]:
    def redeliver_event(
        event_id: str, request: Request, caller: Caller = Depends(require_role(kind))
    ) -> RedeliveryOut:
        """Send this event to your webhooks again (delivered or dead-lettered ones too), with a fresh
        retry schedule. 404 when the event is not yours; 409 when you have no webhook for it."""
        container: Container = request.app.state.container
        with transaction(container.sessions) as session:
            deliveries = service.redeliver(
                session, event_id, now=container.clock(), actor=caller.key, party=(kind, caller.subject)
            )
            out = [
                DeliveryOut(
                    subscription_id=d.subscription_id,
                    url=d.subscription.url,
                    status=d.status,
                    attempts=d.attempts,
                    next_attempt_at=d.next_attempt_at,
                    last_error=d.last_error,
                    delivered_at=d.delivered_at,
                )
                for d in deliveries
            ]
        return RedeliveryOut(event_id=event_id, deliveries=out)

    return redeliver_event


def _event_out(event_id: str, type: str, created_at: Any, data: str) -> EventOut:  # noqa: A002
    return EventOut(id=event_id, type=type, created_at=created_at, data=json.loads(data))


for _kind, _prefix in API_PREFIXES.items():
    router.add_api_route(
        f"{_prefix}/events",
        _list_events(_kind),
        methods=["GET"],
        name=f"list_{_kind}_events",
        response_model=EventPage,
        responses={400: PROBLEM_RESPONSES[400]},
    )
    router.add_api_route(
        f"{_prefix}/events/{{event_id}}/redeliver",
        _redeliver(_kind),
        methods=["POST"],
        name=f"redeliver_{_kind}_event",
        response_model=RedeliveryOut,
        status_code=202,
        responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
    )
