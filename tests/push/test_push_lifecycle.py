"""The whole life of a guarantee in push mode against the reference partner server as a real process,
then again under each of its faults. Every scenario ends with: no guarantee issued twice, no order left
stuck (after the reconciler), no premium kept without a guarantee, the ledger check clean."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta

from fastapi.testclient import TestClient

from adapters.banks.http import BreakerState, HttpInstitution
from gateway.broker.reconciler import reconcile
from gateway.broker.tables import Guarantee
from gateway.composition import Container
from signing.canonical import canonical_json
from signing.certificates import Sm2Certificate
from signing.signed_data import verify_canonical
from tests.broker.broker_factories import bidder_uscc, body, headers
from tests.push.conftest import (
    FAST,
    REPO,
    PartnerFactory,
    accept,
    apply,
    assert_clean,
    pay,
    reconcile_until_settled,
    register,
    status_of,
)

BIDDER = bidder_uscc(601)


def test_whole_life_quote_accept_pay_issue_letter_surrender(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    partner = partners.start()
    section = register(container, partner)

    app = apply(client, container, section, BIDDER)
    assert app["status"] == "offered"
    [offer] = app["offers"]
    assert offer["institution"]["code"] == "PUSH-BANK"
    assert offer["premium_fen"] == 1_600 * 100  # 2‰ of ¥800,000, quoted over HTTP
    assert accept(client, container, app, BIDDER) == "awaiting_payment"
    assert pay(client, container, app["id"], BIDDER) == "issued"

    number = body(client.get(f"/v1/applications/{app['id']}", headers=headers(container, BIDDER)))[
        "guarantee_no"
    ]
    guarantee = body(client.get(f"/v1/guarantees/{number}", headers=headers(container, BIDDER)))
    assert guarantee["premium_fen"] == 1_600 * 100
    letter = client.get(f"/v1/guarantees/{number}/letter.pdf", headers=headers(container, BIDDER))
    assert letter.status_code == 200
    assert letter.content.startswith(b"%PDF")
    # the bank's own signature over the data, checked with the certificate it published
    with container.sessions() as session:
        row = session.get(Guarantee, number)
        assert row is not None
        signed_value = row.signed_data
    certificate = Sm2Certificate.from_pem(partner.identity()["certificate_pem"].encode())
    assert verify_canonical(certificate.sm2_public_key(), json.loads(signed_value), row.institution_signature)
    assert canonical_json(json.loads(signed_value)).decode() == signed_value
    assert partner.state()["applications"][app["id"]]["guarantee_no"] == number

    surrendered = client.post(
        f"/v1/guarantees/{number}/surrender", json={"reason": "withdrawn"}, headers=headers(container, BIDDER)
    )
    assert surrendered.status_code == 200, surrendered.text
    assert body(surrendered)["status"] == "surrendered"
    assert_clean(container, partner)


def test_a_reviewing_bank_decides_later_and_the_reconciler_fetches_the_decision(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    partner = partners.start("--review", "--review-delay", "1.0", "--no-letter")
    section = register(container, partner, review=True)
    app = apply(client, container, section, BIDDER)
    assert accept(client, container, app, BIDDER) == "under_review"

    first = reconcile(container, older_than=timedelta(0))
    assert first.waiting == [app["id"]]  # asked before the review ended: still pending
    assert status_of(container, app["id"]) == "under_review"
    time.sleep(1.1)
    reconcile_until_settled(container)
    assert status_of(container, app["id"]) == "awaiting_payment"
    assert pay(client, container, app["id"], BIDDER) == "issued"
    assert_clean(container, partner)


def test_a_bank_slower_than_the_fan_out_deadline_is_left_out(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    partner = partners.start("--fault", "latency=4@quote")
    container.quote_deadline_s = 1.0
    section = register(container, partner)

    started = time.monotonic()
    app = apply(client, container, section, BIDDER)
    assert time.monotonic() - started < 3.0  # the deadline, not the bank, decides
    assert app["offers"] == []
    assert app["status"] == "cancelled"  # no quote in time: the slot is free again
    assert_clean(container, partner)


def test_a_dead_bank_opens_its_breaker_and_is_skipped_until_it_comes_back(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    container.push_config = replace(FAST, breaker_failures=2, breaker_cool_down_s=2.0)
    partner = partners.start("--no-letter")
    section = register(container, partner)
    adapter = container.institutions[partner.code]
    assert isinstance(adapter, HttpInstitution)
    partner.stop()

    for n in range(2):  # each fan-out fails on connection errors, once per quote (after retries)
        assert apply(client, container, section, bidder_uscc(650 + n))["offers"] == []
    assert adapter.breaker.state is BreakerState.OPEN
    started = time.monotonic()
    assert apply(client, container, section, bidder_uscc(652))["offers"] == []
    assert time.monotonic() - started < 0.5  # skipped without a connection attempt

    partners.start("--no-letter", port=partner.port)
    time.sleep(2.0)  # the cool-down: the next quote is the half-open trial
    app = apply(client, container, section, bidder_uscc(653))
    assert [o["institution"]["code"] for o in app["offers"]] == [partner.code]
    assert adapter.breaker.state.value == "closed"  # the trial succeeded


def _lives(client: TestClient, container: Container, section: str, n: int) -> list[str]:
    """n bidders each apply, accept and pay, whatever the bank's faults do to each step."""
    ids = []
    for i in range(n):
        uscc = bidder_uscc(700 + i)
        app = apply(client, container, section, uscc)
        if app["status"] != "offered":
            continue
        ids.append(app["id"])
        if accept(client, container, app, uscc) != "awaiting_payment":
            reconcile_until_settled(container)  # the lost submission is sent again / asked about
        if status_of(container, app["id"]) == "awaiting_payment":
            pay(client, container, app["id"], uscc)
    reconcile_until_settled(container)
    return ids


def test_error_rate_every_life_ends_issued_once(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    partner = partners.start(
        "--fault", "error_rate=0.5@submit,issue,decision,outcome", "--fault", "seed=7", "--no-letter"
    )
    section = register(container, partner)
    ids = _lives(client, container, section, 4)
    assert ids
    assert {status_of(container, i) for i in ids} == {"issued"}
    assert_clean(container, partner)


def test_timeouts_after_commit_are_resolved_without_issuing_twice(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    partner = partners.start(
        "--fault", "timeout_rate=1@submit,issue", "--fault", "timeout_s=5", "--no-letter"
    )
    section = register(container, partner)
    ids = _lives(client, container, section, 2)
    assert {status_of(container, i) for i in ids} == {"issued"}
    counts = [partner.state()["applications"][i]["issue_count"] for i in ids]
    assert counts == [1, 1]
    assert_clean(container, partner)


def test_latency_past_the_read_timeout_on_issue_never_issues_twice(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    partner = partners.start("--fault", "latency=4@issue", "--no-letter")
    section = register(container, partner)
    ids = _lives(client, container, section, 2)
    assert {status_of(container, i) for i in ids} == {"issued"}
    assert_clean(container, partner)


def test_answers_dropped_after_commit_are_recovered_by_the_status_query(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    partner = partners.start("--fault", "drop_rate=1@submit,issue")
    section = register(container, partner)
    uscc = bidder_uscc(801)
    app = apply(client, container, section, uscc)
    # Each answer is lost after the bank committed: the adapter asks what became of it and goes on,
    # within the same call: no reconciler needed, nothing sent twice.
    assert accept(client, container, app, uscc) == "awaiting_payment"
    assert pay(client, container, app["id"], uscc) == "issued"
    number = body(client.get(f"/v1/applications/{app['id']}", headers=headers(container, uscc)))[
        "guarantee_no"
    ]
    letter = client.get(f"/v1/guarantees/{number}/letter.pdf", headers=headers(container, uscc))
    assert letter.status_code == 200
    assert base64.b64encode(letter.content)  # the letter survived the lost answer too
    assert partner.state()["applications"][app["id"]]["issue_count"] == 1
    assert_clean(container, partner)


def test_a_dead_bank_leaves_orders_paid_until_it_comes_back(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    partner = partners.start("--no-letter")
    section = register(container, partner)
    uscc = bidder_uscc(901)
    app = apply(client, container, section, uscc)
    assert accept(client, container, app, uscc) == "awaiting_payment"
    partner.stop()
    assert pay(client, container, app["id"], uscc) == "paid"  # the premium is held, not lost
    report = reconcile(container, older_than=timedelta(0))
    assert list(report.failed) == [app["id"]]
    assert status_of(container, app["id"]) == "paid"

    back = partners.start("--no-letter", port=partner.port)
    # The operator's way: `gateway broker reconcile` in its own process, on the same database and keys.
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": container.settings.resolved_database_url,
        "GATEWAY_DATA_DIR": str(container.settings.data_dir),
        "GATEWAY_TOKEN_SECRET": "test-token-secret",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "broker", "reconcile", "--older-than", "0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{app['id']}: issuance settled" in result.stdout
    assert status_of(container, app["id"]) == "issued"
    assert_clean(container, back)


def test_a_decision_that_overtakes_the_submission_answer_is_still_applied_once(
    client: TestClient, container: Container, partners: PartnerFactory
) -> None:
    # Out of order: the bank has approved before it answers the submission with "pending". (Without
    # a callback URL: the decision reaches the gateway through the status query.)
    partner = partners.start(
        "--review", "--review-delay", "30", "--fault", "out_of_order_callbacks=1", "--no-letter"
    )
    section = register(container, partner, review=True)
    app = apply(client, container, section, BIDDER)
    assert accept(client, container, app, BIDDER) == "under_review"
    assert partner.state()["applications"][app["id"]]["outcome"] == "approved"
    report = reconcile(container, older_than=timedelta(0))
    assert report.decided == [app["id"]]
    assert reconcile(container, older_than=timedelta(0)).checked == 0  # applied once, nothing left
    assert pay(client, container, app["id"], BIDDER) == "issued"
    assert_clean(container, partner)
