"""PostgreSQL concurrency: claims filed and decided at once on one guarantee, exactly one effect. These
tests exist only when GATEWAY_TEST_POSTGRES_URL is set (not generated, not skipped, otherwise)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.claims.rules import Outcome
from gateway.claims.workflow import Claims
from gateway.errors import GatewayError
from gateway.settings import Settings
from tests.broker.test_broker_concurrency import at_once
from tests.claims.claims_factories import BANK, CLAIM_DAY, Gateway, counts, issue_guarantee, start_gateway

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")


@pytest.fixture
def database_url(postgres_database_url: str) -> str:
    return postgres_database_url


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    yield from start_gateway(settings)


def _outcome(call: Any) -> str:
    try:
        call()
    except GatewayError as exc:
        return exc.code
    return "ok"


if POSTGRES_URL:

    def test_eight_claims_at_once_on_one_guarantee_file_one(gateway: Gateway) -> None:
        number = issue_guarantee(gateway)
        gateway.clock.now = CLAIM_DAY
        claims = Claims.from_container(gateway.container)
        results = at_once(
            8,
            lambda i: _outcome(
                lambda: claims.file(
                    center_code="TEST-CENTER", guarantee_no=number, amount_fen=1_000 + i, reason="撤销投标"
                )
            ),
        )
        assert Counter(results) == {"ok": 1, "claim_exists": 7}
        assert counts(gateway.container)["claims"] == 1

    def test_pay_and_refuse_at_once_decide_once(gateway: Gateway) -> None:
        number = issue_guarantee(gateway)
        gateway.clock.now = CLAIM_DAY
        claims = Claims.from_container(gateway.container)
        claim_id = claims.file(
            center_code="TEST-CENTER", guarantee_no=number, amount_fen=5_000, reason="拒签"
        )
        outcomes = [Outcome.PAID, Outcome.REFUSED] * 4
        results = at_once(
            8,
            lambda i: _outcome(
                lambda: claims.decide(
                    claim_id=claim_id, institution_code=BANK, outcome=outcomes[i], reason="单据不符"
                )
            ),
        )
        winner = gateway.get_claim(claim_id).json()["status"]
        # Every call that agrees with the recorded decision succeeds; every other is refused.
        expected_ok = sum(1 for outcome in outcomes if outcome.value == winner)
        assert Counter(results) == {"ok": expected_ok, "claim_already_decided": 8 - expected_ok}
