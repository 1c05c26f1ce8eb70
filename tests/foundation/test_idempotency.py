"""Idempotency-Key: replay, mismatch, in flight, per-caller scope, expiry — on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from fastapi.testclient import TestClient

from gateway.composition import Container
from gateway.db import utcnow
from gateway.idempotency.service import purge_expired
from gateway.idempotency.tables import IdempotencyRecord

if TYPE_CHECKING:
    from tests.foundation.conftest import ProbeState

ORDER = {"section_code": "S1", "amount_fen": 500_000_00}


def headers(token: str, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": key}


def test_same_key_and_body_replays_the_first_response(
    probe_client: TestClient, probe: ProbeState, bidder_token: str
) -> None:
    first = probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "k-1"))
    again = probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "k-1"))
    assert first.status_code == again.status_code == 201
    assert (
        again.json() == first.json() == {"number": 1, "caller": "91440300MA5DEMO01X", "amount_fen": 50000000}
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["request-id"] != first.headers["request-id"]
    assert probe.executions == 1


def test_same_key_different_body_is_422(
    probe_client: TestClient, probe: ProbeState, bidder_token: str
) -> None:
    probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "k-2"))
    response = probe_client.post(
        "/probe/orders", json={**ORDER, "amount_fen": 1}, headers=headers(bidder_token, "k-2")
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert probe.executions == 1


def test_keys_are_scoped_per_caller(
    probe_client: TestClient, probe: ProbeState, bidder_token: str, other_bidder_token: str
) -> None:
    mine = probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "shared"))
    theirs = probe_client.post("/probe/orders", json=ORDER, headers=headers(other_bidder_token, "shared"))
    assert mine.json()["caller"] == "91440300MA5DEMO01X"
    assert theirs.json()["caller"] == "91440300MA5DEMO02Y"
    assert probe.executions == 2


def test_client_errors_are_replayed_server_errors_are_retried(
    probe_client: TestClient, probe: ProbeState, bidder_token: str
) -> None:
    bad = {"section_code": "S1", "amount_fen": -5}
    assert (
        probe_client.post("/probe/orders", json=bad, headers=headers(bidder_token, "k-4")).status_code == 422
    )
    replay = probe_client.post("/probe/orders", json=bad, headers=headers(bidder_token, "k-4"))
    assert (replay.status_code, replay.headers.get("idempotent-replayed")) == (422, "true")

    probe.fail_with_500 = True
    assert (
        probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "k-5")).status_code
        == 500
    )
    probe.fail_with_500 = False
    retried = probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "k-5"))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


def test_bad_key_is_400(probe_client: TestClient, bidder_token: str) -> None:
    response = probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "x" * 256))
    assert (response.status_code, response.json()["code"]) == (400, "invalid_idempotency_key")


def test_system_apis_require_a_key(probe_client: TestClient) -> None:
    response = probe_client.post("/partner/v1/anything", json={})
    assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_required")


def test_two_concurrent_requests_with_one_key_execute_once(
    container: Container, probe_client: TestClient, probe: ProbeState, bidder_token: str
) -> None:
    # The first request holds its claim for 0.5 s; the second arrives meanwhile.
    probe.delay_s = 0.5
    app = probe_client.app

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = asyncio.create_task(
                client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "race"))
            )
            await asyncio.sleep(0.15)
            second = asyncio.create_task(
                client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "race"))
            )
            return list(await asyncio.gather(first, second))

    first, second = asyncio.run(both())
    assert first.status_code == 201
    assert (second.status_code, second.json()["code"]) == (409, "idempotency_request_in_flight")
    assert second.headers["retry-after"] == "1"
    assert probe.executions == 1
    probe.delay_s = 0
    later = probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "race"))
    assert later.json() == first.json()
    assert probe.executions == 1


def test_many_simultaneous_requests_with_one_key_execute_exactly_once(
    probe_client: TestClient, probe: ProbeState, bidder_token: str
) -> None:
    probe.delay_s = 0.2
    app = probe_client.app

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "burst"))
                        for _ in range(8)
                    )
                )
            )

    statuses = sorted(response.status_code for response in asyncio.run(burst()))
    assert statuses.count(201) == 1
    assert set(statuses) <= {201, 409}
    assert probe.executions == 1


def test_expired_keys_are_purged_and_can_be_reused(
    container: Container, probe_client: TestClient, probe: ProbeState, bidder_token: str
) -> None:
    probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "old"))
    assert purge_expired(container.sessions, utcnow()) == 0
    assert purge_expired(container.sessions, utcnow() + timedelta(hours=24, seconds=1)) == 1
    with container.sessions() as session:
        assert session.query(IdempotencyRecord).count() == 0
    again = probe_client.post("/probe/orders", json=ORDER, headers=headers(bidder_token, "old"))
    assert again.json()["number"] == 2


def test_abandoned_claim_is_taken_over_after_its_lease(
    container: Container, probe_client: TestClient, probe: ProbeState, bidder_token: str
) -> None:
    from gateway.idempotency.service import Claim, IdempotencyPolicy, Outcome, claim

    policy = IdempotencyPolicy()

    def claim_at(now: datetime) -> Claim:
        return claim(
            container.sessions,
            caller="bidder:X",
            key="k",
            method="POST",
            path="/p",
            request_hash="h",
            now=now,
            policy=policy,
        )

    first = claim_at(utcnow())
    assert first.outcome is Outcome.CLAIMED
    assert claim_at(utcnow()).outcome is Outcome.IN_FLIGHT
    after_lease = claim_at(utcnow() + policy.lease + timedelta(seconds=1))
    assert (after_lease.outcome, after_lease.record_id) == (Outcome.CLAIMED, first.record_id)
