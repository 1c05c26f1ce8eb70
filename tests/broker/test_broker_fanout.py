"""Quote fan-out: a slow or hanging institution never blocks the others beyond the deadline."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from contracts.institutions import InstitutionUnavailable
from gateway.broker.fanout import fan_out
from gateway.composition import Container
from tests.broker.broker_factories import bidder_uscc, body, headers, sandbox, seed_market


def test_fan_out_returns_at_the_deadline_with_the_answers_it_has() -> None:
    def slow() -> str:
        time.sleep(2)
        return "late"

    def failing() -> str:
        raise InstitutionUnavailable("down")

    started = time.perf_counter()
    result = fan_out({"fast": lambda: "ok", "slow": slow, "failing": failing}, deadline_s=0.2)
    elapsed = time.perf_counter() - started
    assert result.answers == {"fast": "ok"}
    assert result.timed_out == ["slow"]
    assert set(result.failed) == {"failing"}
    assert elapsed < 1.0


def test_a_hanging_institution_is_left_out_of_the_offers(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    container.quote_deadline_s = 0.3
    sandbox(container.institutions["SBX-GUARANTOR"]).behaviour.latency_s = 3.0
    started = time.perf_counter()
    response = client.post(
        "/v1/applications", json={"section_code": market.section}, headers=headers(container, bidder_uscc(3))
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 201
    assert {o["institution"]["code"] for o in body(response)["offers"]} == {"SBX-BANK", "SBX-INSURER"}
    assert elapsed < 2.0


def test_no_quotes_cancels_the_order_and_frees_the_slot(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    for adapter in container.institutions.values():
        sandbox(adapter).behaviour.fail_quotes = True
    first = client.post(
        "/v1/applications", json={"section_code": market.section}, headers=headers(container, bidder_uscc(4))
    )
    assert body(first)["status"] == "cancelled"
    for adapter in container.institutions.values():
        sandbox(adapter).behaviour.fail_quotes = False
    second = client.post(
        "/v1/applications", json={"section_code": market.section}, headers=headers(container, bidder_uscc(4))
    )
    assert body(second)["status"] == "offered"


def test_center_cap_and_round_robin_allocation(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False, rate_cap_ppm=1_000, policy="round_robin")
    seen = []
    for n in range(3):
        app = body(
            client.post(
                "/v1/applications",
                json={"section_code": market.section},
                headers=headers(container, bidder_uscc(10 + n)),
            )
        )
        assert len(app["offers"]) == 1
        assert app["offers"][0]["premium_fen"] <= 800_000_00 // 1000  # capped at 1‰
        seen.append(app["offers"][0]["institution"]["code"])
    assert sorted(seen) == ["SBX-BANK", "SBX-GUARANTOR", "SBX-INSURER"]
