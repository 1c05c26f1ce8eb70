"""Payments: a failed charge holds nothing and can be retried; a replayed request pays once; allocation
to the least-loaded institution."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from gateway.composition import Container
from ledger import Ledger
from tests.broker.broker_factories import YUAN, bidder_uscc, body, headers, payments, seed_market

BIDDER = bidder_uscc(21)


def _awaiting_payment(
    client: TestClient, container: Container, section: str, uscc: str = BIDDER
) -> dict[str, Any]:
    app = body(
        client.post("/v1/applications", json={"section_code": section}, headers=headers(container, uscc))
    )
    bank = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-BANK")
    accepted = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": bank["offer_id"]},
        headers=headers(container, uscc),
    )
    assert body(accepted)["status"] == "awaiting_payment"
    return app


def test_a_failed_payment_holds_nothing_and_can_be_retried(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    app = _awaiting_payment(client, container, market.section)
    payments(container).behaviour.fail_payers.add(BIDDER)
    failed = client.post(
        f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER)
    )
    assert failed.status_code == 402
    assert body(failed)["code"] == "payment_failed"
    assert Ledger(container.engine).accounts(prefix="platform:") == []  # nothing was ever held
    current = client.get(f"/v1/applications/{app['id']}", headers=headers(container, BIDDER))
    assert body(current)["status"] == "awaiting_payment"

    payments(container).behaviour.fail_payers.clear()
    paid = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER))
    assert body(paid)["status"] == "issued"


def test_the_same_idempotency_key_replays_the_payment(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    app = _awaiting_payment(client, container, market.section)
    h = headers(container, BIDDER, "pay-once")
    first = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=h)
    second = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=h)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert len(payments(container).charges) == 1
    book = Ledger(container.engine)
    assert book.balance("platform:premium_clearing").debits_posted == 1_600 * YUAN


def test_least_loaded_allocation_sends_each_bidder_to_the_least_busy_institution(
    client: TestClient, container: Container
) -> None:
    market = seed_market(container, render_letters=False, policy="least_loaded")
    first = _awaiting_payment_any(client, container, market.section, bidder_uscc(31))
    second = body(
        client.post(
            "/v1/applications",
            json={"section_code": market.section},
            headers=headers(container, bidder_uscc(32)),
        )
    )
    assert len(second["offers"]) == 1
    assert second["offers"][0]["institution"]["code"] != first


def _awaiting_payment_any(client: TestClient, container: Container, section: str, uscc: str) -> str:
    app = body(
        client.post("/v1/applications", json={"section_code": section}, headers=headers(container, uscc))
    )
    assert len(app["offers"]) == 1
    offer = app["offers"][0]
    client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, uscc),
    )
    return str(offer["institution"]["code"])
