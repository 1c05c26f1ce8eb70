"""The stuck-order reconciler against in-process sandbox institutions: the waiting limit, a failed
issuance retried once the institution is back, a lost submission sent again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from contracts.institutions import ApplicationSubmission, Decision, InstitutionUnavailable
from gateway.broker.reconciler import reconcile, stuck_orders
from gateway.composition import Container
from tests.broker.broker_factories import bidder_uscc, body, headers, sandbox, seed_market
from tests.push.conftest import assert_issued_once_and_ledger_clean, status_of

BIDDER = bidder_uscc(951)


def _offer(client: TestClient, container: Container, section: str, code: str) -> tuple[str, str]:
    response = client.post(
        "/v1/applications", json={"section_code": section}, headers=headers(container, BIDDER)
    )
    assert response.status_code == 201, response.text
    app = body(response)
    [offer] = [o for o in app["offers"] if o["institution"]["code"] == code]
    return app["id"], offer["offer_id"]


def test_a_failed_issuance_is_retried_only_past_the_limit(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    bank = sandbox(container.institutions["SBX-BANK"])
    application_id, offer_id = _offer(client, container, market.section, "SBX-BANK")
    h = headers(container, BIDDER)
    assert (
        body(
            client.post(f"/v1/applications/{application_id}/accept", json={"offer_id": offer_id}, headers=h)
        )["status"]
        == "awaiting_payment"
    )
    bank.behaviour.fail_issue = True
    paid = client.post(
        f"/v1/applications/{application_id}/payments",
        json={"method": "sandbox"},
        headers=headers(container, BIDDER),
    )
    assert body(paid)["status"] == "paid"

    # Not stuck yet for a one-hour limit: nothing asked, nothing changed.
    assert stuck_orders(container, older_than=timedelta(hours=1)) == []
    assert reconcile(container, older_than=timedelta(hours=1)).checked == 0
    # Still failing: reported, stays paid (the hold stays; nothing is lost).
    report = reconcile(container, older_than=timedelta(0))
    assert list(report.failed) == [application_id]
    assert status_of(container, application_id) == "paid"
    # The institution is back: issued.
    bank.behaviour.fail_issue = False
    report = reconcile(container, older_than=timedelta(0))
    assert report.issued == [application_id]
    assert status_of(container, application_id) == "issued"
    assert_issued_once_and_ledger_clean(container)


def test_an_order_left_accepted_is_submitted_again(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = seed_market(container, render_letters=False)
    application_id, offer_id = _offer(client, container, market.section, "SBX-BANK")
    bank = sandbox(container.institutions["SBX-BANK"])

    def lost(_submission: ApplicationSubmission) -> Decision:
        raise InstitutionUnavailable("the submission's answer was lost")

    monkeypatch.setattr(bank, "submit", lost)
    h = headers(container, BIDDER)
    accepted = client.post(
        f"/v1/applications/{application_id}/accept", json={"offer_id": offer_id}, headers=h
    )
    assert body(accepted)["status"] == "accepted"
    monkeypatch.undo()  # the institution answers again
    report = reconcile(container, older_than=timedelta(0))
    assert report.decided == [application_id]
    assert status_of(container, application_id) == "awaiting_payment"
