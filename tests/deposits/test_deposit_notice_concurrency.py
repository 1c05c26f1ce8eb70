"""PostgreSQL: the same deposit notice delivered 10 times at once posts once (the unique (bank,
reference) constraint decides; the losers read the winner's outcome). Exists only when
GATEWAY_TEST_POSTGRES_URL is set: not generated, not skipped, otherwise."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.deposits.tables import Deposit, DepositException, DepositNotice
from ledger import Ledger
from signing.http_signature import sign_request
from tests.deposits.deposit_factories import CENTER, DEPOSIT, World, bidder

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")


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


def _signed_posts(world: World, payload: dict[str, Any], n: int) -> list[dict[str, str]]:
    body = json.dumps(payload).encode()
    timestamp = int(world.clock().timestamp())
    return [
        {
            "Authorization": sign_request(
                world.bank_key, "dep-escrow-1", "POST", "/bank/v1/deposit-notices", body, timestamp=timestamp
            ),
            "Idempotency-Key": f"concurrent-{i}",
            "Content-Type": "application/json",
        }
        for i in range(n)
    ]


if POSTGRES_URL:

    @pytest.mark.parametrize("odd", [False, True])
    def test_the_same_notice_ten_times_at_once_posts_once(world: World, odd: bool) -> None:
        section = world.add_section()
        payload = {
            "bank_reference": "BR-CONCURRENT-1",
            "subaccount": world.subaccount(section, 1),
            "amount_fen": DEPOSIT - 1 if odd else DEPOSIT,
            "payer_name": bidder(1)[1],
            "payer_account": "6222000011112222",
            "value_date": world.clock().date().isoformat(),
        }
        body = json.dumps(payload).encode()
        headers = _signed_posts(world, payload, 10)
        responses = at_once(
            10, lambda i: world.client.post("/bank/v1/deposit-notices", content=body, headers=headers[i])
        )
        assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
        outcomes = [r.json() for r in responses]
        assert sorted(o["replayed"] for o in outcomes) == [False] + [True] * 9
        assert len({o["notice_id"] for o in outcomes}) == 1
        assert {o["outcome"] for o in outcomes} == {"exception" if odd else "matched"}
        with world.container.sessions() as session:
            assert session.scalar(select(func.count()).select_from(DepositNotice)) == 1
            assert session.scalar(select(func.count()).select_from(Deposit)) == (0 if odd else 1)
            assert session.scalar(select(func.count()).select_from(DepositException)) == (1 if odd else 0)
        book = Ledger(world.container.engine)
        assert book.balance(f"center:{CENTER}:escrow_bank").net == payload["amount_fen"]
        assert book.check().violations == ()
