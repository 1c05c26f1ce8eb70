"""The events API: a system party reads its own events with a cursor and asks for redelivery."""

from __future__ import annotations

import json
from typing import cast
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from gateway.composition import Container
from gateway.db import transaction, utcnow
from gateway.outbox.service import emit
from gateway.outbox.tables import OutboxDelivery
from gateway.system_auth.service import register_key
from signing.http_signature import sign_request, verify_response
from signing.sm2 import Sm2PrivateKey
from tests.outbox.conftest import CENTER, emit_events, statuses, subscribe_center


class Party:
    def __init__(self, container: Container, kind: str, code: str) -> None:
        self.key = Sm2PrivateKey.generate()
        self.key_id = f"{code.lower()}-key"
        with transaction(container.sessions) as session:
            register_key(
                session,
                party_kind=kind,
                party_code=code,
                key_id=self.key_id,
                public_key_pem=self.key.public_key().to_pem().decode(),
                now=utcnow(),
                actor="admin:test",
            )

    def headers(self, method: str, target: str, body: bytes = b"") -> dict[str, str]:
        authorization = sign_request(
            self.key, self.key_id, method, target, body, timestamp=int(utcnow().timestamp())
        )
        return {"Authorization": authorization, "Idempotency-Key": f"k-{target}-{len(body)}"}

    def get(self, client: TestClient, target: str) -> Response:
        return cast(Response, client.get(target, headers=self.headers("GET", target)))

    def post(self, client: TestClient, target: str) -> Response:
        return cast(Response, client.post(target, headers=self.headers("POST", target)))


@pytest.fixture
def center(container: Container) -> Party:
    return Party(container, "center", CENTER)


def test_a_center_pages_through_its_own_events_only(
    client: TestClient, container: Container, center: Party
) -> None:
    mine = emit_events(container.sessions, 5)
    with transaction(container.sessions) as session:
        emit(session, "guarantee.issued", {"guarantee_no": "X"}, center="OTHER")

    seen: list[str] = []
    target = "/center/v1/events?limit=2"
    while True:
        response = center.get(client, target)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [event["id"] for event in page["data"]]
        if not page["has_more"]:
            break
        target = f"/center/v1/events?limit=2&after={page['next_cursor']}"
    assert seen == mine
    first = center.get(client, "/center/v1/events?limit=1").json()["data"][0]
    assert first["type"] == "guarantee.issued"
    assert first["data"] == {"center_code": CENTER, "guarantee_no": "G0000"}


def test_event_responses_are_signed_by_the_gateway(
    client: TestClient, container: Container, center: Party
) -> None:
    emit_events(container.sessions, 1)
    response = center.get(client, "/center/v1/events")
    public = container.signer.key.public_key()
    assert verify_response(public, dict(response.headers), "200", "/center/v1/events", response.content)


def test_an_unknown_cursor_is_a_problem(client: TestClient, center: Party) -> None:
    response = center.get(client, "/center/v1/events?after=evt_nope")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_an_institution_cannot_read_the_center_api(client: TestClient, container: Container) -> None:
    institution = Party(container, "institution", "BANK1")
    assert institution.get(client, "/center/v1/events").status_code == 403
    assert institution.get(client, "/partner/v1/events").json() == {
        "data": [],
        "has_more": False,
        "next_cursor": None,
    }


def test_redeliver_puts_the_callers_delivery_back_to_pending(
    client: TestClient, container: Container, center: Party
) -> None:
    subscribe_center(container.sessions, "http://127.0.0.1:9/hooks")
    [event_id] = emit_events(container.sessions, 1)
    with transaction(container.sessions) as session:
        delivery = session.query(OutboxDelivery).one()
        delivery.status, delivery.attempts = "dead", 40

    response = center.post(client, f"/center/v1/events/{event_id}/redeliver")
    assert response.status_code == 202, response.text
    [out] = response.json()["deliveries"]
    assert (out["status"], out["attempts"], urlsplit(out["url"]).path) == ("pending", 0, "/hooks")
    assert statuses(container.sessions) == {"pending": 1}


def test_redeliver_refuses_other_parties_events_and_events_without_webhooks(
    client: TestClient, container: Container, center: Party
) -> None:
    with transaction(container.sessions) as session:
        other = emit(session, "guarantee.issued", {}, center="OTHER").event_id
    [unsubscribed] = emit_events(container.sessions, 1)
    refused = center.post(client, f"/center/v1/events/{other}/redeliver")
    assert (refused.status_code, refused.json()["code"]) == (404, "event_not_found")
    empty = center.post(client, f"/center/v1/events/{unsubscribed}/redeliver")
    assert (empty.status_code, empty.json()["code"]) == (409, "no_webhook_subscription")
    assert json.loads(empty.content)["request_id"]
