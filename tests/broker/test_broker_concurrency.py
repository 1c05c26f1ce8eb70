"""PostgreSQL concurrency: many requests on one order, exactly one effect. These tests exist only
when GATEWAY_TEST_POSTGRES_URL is set (SQLite's single writer cannot show races): not generated, not
skipped, otherwise."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.broker.tables import Application, Guarantee, Payment
from gateway.composition import Container
from ledger import Ledger
from tests.broker.broker_factories import YUAN, bidder_uscc, body, headers, payments, seed_market

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
BIDDER = bidder_uscc(7)


@pytest.fixture
def database_url(postgres_database_url: str) -> str:
    """Only PostgreSQL here (overrides the two-backend fixture), emptied for each test."""
    return postgres_database_url


def at_once(n: int, call: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


if POSTGRES_URL:

    def test_the_same_payment_sent_ten_times_at_once_pays_once(
        client: TestClient, container: Container
    ) -> None:
        market = seed_market(container, render_letters=False)
        app = body(
            client.post(
                "/v1/applications", json={"section_code": market.section}, headers=headers(container, BIDDER)
            )
        )
        bank = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-BANK")
        client.post(
            f"/v1/applications/{app['id']}/accept",
            json={"offer_id": bank["offer_id"]},
            headers=headers(container, BIDDER),
        )
        payments(container).behaviour.delay_s = 0.05  # widen the window

        responses = at_once(10, lambda i: client.post(
            f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER, f"pay-{i}")
        ))  # fmt: skip
        statuses = Counter(r.status_code for r in responses)
        assert statuses[200] == 1, [r.text for r in responses]
        assert statuses[409] == 9
        assert {body(r)["code"] for r in responses if r.status_code == 409} <= {
            "already_paid",
            "payment_in_progress",
        }
        assert len(payments(container).charges) == 1
        with container.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Payment)) == 1
            assert session.scalar(select(func.count()).select_from(Guarantee)) == 1
        book = Ledger(container.engine)
        assert book.balance("institution:SBX-BANK:payable").credits_posted == 1_440 * YUAN
        assert book.balance("platform:premium_clearing").debits_posted == 1_600 * YUAN
        assert book.check().clean

    def test_two_applications_for_the_same_section_at_once_yield_one(
        client: TestClient, container: Container
    ) -> None:
        market = seed_market(container, render_letters=False)
        request = {"section_code": market.section}
        responses = at_once(2, lambda i: client.post(
            "/v1/applications", json=request, headers=headers(container, BIDDER, f"ap-{i}")
        ))  # fmt: skip
        assert sorted(r.status_code for r in responses) == [201, 409]
        assert next(body(r)["code"] for r in responses if r.status_code == 409) == "application_exists"
        winner = next(body(r) for r in responses if r.status_code == 201)
        bank = next(o for o in winner["offers"] if o["institution"]["code"] == "SBX-BANK")
        client.post(
            f"/v1/applications/{winner['id']}/accept",
            json={"offer_id": bank["offer_id"]},
            headers=headers(container, BIDDER),
        )
        client.post(f"/v1/applications/{winner['id']}/payments", json={}, headers=headers(container, BIDDER))
        with container.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Application)) == 1
            assert session.scalar(select(func.count()).select_from(Guarantee)) == 1
