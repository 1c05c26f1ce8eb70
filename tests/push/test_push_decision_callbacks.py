"""Decision callbacks from a reviewing push bank: the reference partner server (a real process) calls the
gateway's `POST /partner/v1/applications/{id}/decision`, signed with its registered system key, twice
or more (`duplicate_callbacks`) and before its own submission answer (`out_of_order_callbacks`).

The gateway here is a real uvicorn server on 127.0.0.1 (in a thread, on the test's container) because
the partner must reach it over the network. Each scenario ends with: the decision recorded once, every
callback answered 200 (a repeated identical decision is not an error), nothing stuck, ledger clean."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adapters.banks.sandbox.core import load_or_create_identity
from gateway.app import create_app
from gateway.audit.tables import AuditRecord
from gateway.composition import Container
from gateway.partner.schemas import DecisionIn
from gateway.system_auth.service import register_key
from signing.http_signature import sign_request
from tests.broker.broker_factories import bidder_uscc
from tests.push.conftest import (
    Partner,
    PartnerFactory,
    accept,
    apply,
    assert_clean,
    free_port,
    pay,
    register,
    status_of,
)

BIDDER = bidder_uscc(611)


@pytest.fixture
def gateway_url(container: Container) -> Iterator[str]:
    """The gateway app on this test's container, served by uvicorn on a free local port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start listening"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def register_system_key(container: Container, partner: Partner) -> None:
    """The bank's callbacks are signed with its SM2 key: registered as an institution system key."""
    identity = partner.identity()
    with container.sessions() as session, session.begin():
        register_key(
            session,
            party_kind="institution",
            party_code=partner.code,
            key_id=identity["key_id"],
            public_key_pem=identity["public_key_pem"],
            now=datetime.now(UTC),
            actor="test",
        )


def wait_for_callbacks(partner: Partner, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        callbacks: list[dict[str, Any]] = partner.state()["callbacks"]
        if len(callbacks) >= count:
            return callbacks
        assert time.monotonic() < deadline, f"only {len(callbacks)} of {count} callbacks sent: {callbacks}"
        time.sleep(0.1)


def approvals(container: Container, application_id: str) -> int:
    with container.sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.object_id == application_id, AuditRecord.action == "application.approve")
        )
    return int(count or 0)


def test_the_callback_body_is_what_the_decision_endpoint_accepts() -> None:
    # The server sends {"outcome", "reason"}; the endpoint's schema forbids anything else.
    assert DecisionIn.model_validate({"outcome": "approved", "reason": None}).outcome == "approved"
    assert set(DecisionIn.model_fields) == {"outcome", "reason"}


def test_duplicate_callbacks_record_the_decision_once_and_each_is_answered_200(
    client: TestClient, container: Container, partners: PartnerFactory, gateway_url: str
) -> None:
    duplicates = 3
    partner = partners.start(
        "--review", "--review-delay", "0.5", "--gateway-url", gateway_url,
        "--fault", f"duplicate_callbacks={duplicates}", "--no-letter",
    )  # fmt: skip
    register_system_key(container, partner)
    section = register(container, partner, review=True)
    app = apply(client, container, section, BIDDER)
    assert accept(client, container, app, BIDDER) == "under_review"

    callbacks = wait_for_callbacks(partner, 1 + duplicates)
    assert [c["application_id"] for c in callbacks] == [app["id"]] * (1 + duplicates)
    # the same key once (a plain retry), then new keys (a bank that forgot it sent): all 200
    assert len({c["key"] for c in callbacks}) == duplicates
    assert [c["status"] for c in callbacks] == [200] * (1 + duplicates), callbacks
    assert status_of(container, app["id"]) == "awaiting_payment"
    assert approvals(container, app["id"]) == 1

    assert pay(client, container, app["id"], BIDDER) == "issued"
    assert approvals(container, app["id"]) == 1
    assert_clean(container, partner)


def test_a_callback_that_overtakes_the_submission_answer_is_applied_once(
    client: TestClient, container: Container, partners: PartnerFactory, gateway_url: str
) -> None:
    # The bank approves and calls back (twice) before it answers the submission with "pending".
    partner = partners.start(
        "--review", "--review-delay", "30", "--gateway-url", gateway_url,
        "--fault", "out_of_order_callbacks=1", "--fault", "duplicate_callbacks=1", "--no-letter",
    )  # fmt: skip
    register_system_key(container, partner)
    section = register(container, partner, review=True)
    app = apply(client, container, section, BIDDER)
    accept(client, container, app, BIDDER)

    callbacks = wait_for_callbacks(partner, 2)
    assert [c["status"] for c in callbacks] == [200, 200], callbacks
    # the late "pending" answer did not move the order back to review
    assert status_of(container, app["id"]) == "awaiting_payment"
    assert approvals(container, app["id"]) == 1
    assert pay(client, container, app["id"], BIDDER) == "issued"
    assert_clean(container, partner)


def test_a_repeated_decision_on_a_new_key_is_200_and_a_different_one_409(
    client: TestClient, container: Container, partners: PartnerFactory, gateway_url: str
) -> None:
    # The bank's callback approved; the bank then posts the same decision itself, and a contrary one.
    partner = partners.start("--review", "--review-delay", "0.2", "--gateway-url", gateway_url, "--no-letter")
    register_system_key(container, partner)
    section = register(container, partner, review=True)
    app = apply(client, container, section, BIDDER)
    accept(client, container, app, BIDDER)
    wait_for_callbacks(partner, 1)
    assert status_of(container, app["id"]) == "awaiting_payment"

    identity = load_or_create_identity(partner.state_dir / "pki", partner.code, partner.identity()["name"])
    path = f"/partner/v1/applications/{app['id']}/decision"

    def post(payload: bytes, key: str) -> httpx.Response:
        authorization = sign_request(
            identity.sm2_key, identity.key_id, "POST", path, payload, timestamp=int(time.time())
        )
        return httpx.post(
            gateway_url + path,
            content=payload,
            headers={
                "Authorization": authorization,
                "Idempotency-Key": key,
                "Content-Type": "application/json",
            },
            timeout=10,
        )

    again = post(b'{"outcome":"approved"}', "manual-1")
    assert again.status_code == 200, again.text
    assert again.json()["application_status"] == "awaiting_payment"
    contrary = post(b'{"outcome":"rejected","reason":"changed our mind"}', "manual-2")
    assert (contrary.status_code, contrary.json()["code"]) == (409, "already_decided")
    assert status_of(container, app["id"]) == "awaiting_payment"
    assert approvals(container, app["id"]) == 1
    assert pay(client, container, app["id"], BIDDER) == "issued"
    assert_clean(container, partner)
