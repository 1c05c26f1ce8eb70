"""The whole life of a bid guarantee over HTTP, and the bad inputs that must change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.broker.tables import Application, Guarantee
from gateway.composition import Container
from gateway.outbox.tables import OutboxEvent
from ledger import Ledger
from signing.canonical import canonical_json
from signing.certificates import Sm2Certificate
from signing.signed_data import verify_canonical
from tests.broker.broker_factories import (
    YUAN,
    Market,
    add_section,
    bidder_uscc,
    body,
    headers,
    payments,
    sandbox,
    seed_market,
)

BIDDER = bidder_uscc(1)
OTHER = bidder_uscc(2)


@pytest.fixture
def market(container: Container) -> Market:
    return seed_market(container)


def apply(client: TestClient, container: Container, section: str, uscc: str = BIDDER) -> dict[str, Any]:
    response = client.post(
        "/v1/applications", json={"section_code": section}, headers=headers(container, uscc)
    )
    assert response.status_code == 201, response.text
    return dict(body(response))


def book(container: Container) -> Ledger:
    return Ledger(container.engine)


def test_whole_life_sections_quotes_accept_pay_issue_letter(
    client: TestClient, container: Container, market: Market
) -> None:
    h = headers(container, BIDDER)
    sections = client.get("/v1/sections", headers=h)
    assert sections.status_code == 200
    assert market.section in [s["code"] for s in body(sections)["data"]]

    app = apply(client, container, market.section)
    assert app["status"] == "offered"
    offers = app["offers"]
    assert isinstance(offers, list)
    # ¥800,000: bank 2‰ = ¥1,600; insurer 1.5‰ = ¥1,200 (review); guarantor tiered = ¥6,600
    assert [(o["institution"]["code"], o["premium_fen"]) for o in offers] == [
        ("SBX-INSURER", 1_200 * YUAN), ("SBX-BANK", 1_600 * YUAN), ("SBX-GUARANTOR", 6_600 * YUAN),
    ]  # fmt: skip

    bank_offer = offers[1]["offer_id"]
    accepted = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": bank_offer},
        headers=headers(container, BIDDER),
    )
    assert accepted.status_code == 200, accepted.text
    assert body(accepted)["status"] == "awaiting_payment"

    paid = client.post(
        f"/v1/applications/{app['id']}/payments",
        json={"method": "sandbox"},
        headers=headers(container, BIDDER),
    )
    assert paid.status_code == 200, paid.text
    result = body(paid)
    assert result["status"] == "issued"
    number = result["guarantee_no"]

    guarantee = client.get(f"/v1/guarantees/{number}", headers=h)
    assert guarantee.status_code == 200
    g = body(guarantee)
    assert g["amount_fen"] == 800_000 * YUAN
    assert g["premium_fen"] == 1_600 * YUAN
    assert len(g["verification_code"]) == 8
    letter = client.get(f"/v1/guarantees/{number}/letter.pdf", headers=h)
    assert letter.status_code == 200
    assert letter.content.startswith(b"%PDF-")

    # The stored data verifies with the institution's certificate.
    with container.sessions() as session:
        row = session.get(Guarantee, number)
        assert row is not None
        party = next(p for p in container.sandbox_parties if p.code == "SBX-BANK")
        key = Sm2Certificate.from_pem(party.certificate_pem).sm2_public_key()
        import json

        value = json.loads(row.signed_data)
        assert canonical_json(value).decode() == row.signed_data
        assert verify_canonical(key, value, row.institution_signature)
        assert (session.scalar(select(func.count()).select_from(OutboxEvent)) or 0) >= 5

    # Money: premium held then posted: ¥1,440 to the bank, ¥160 platform fee; nothing pending.
    ledger = book(container)
    assert ledger.balance("institution:SBX-BANK:payable").credits_posted == 1_440 * YUAN
    assert ledger.balance("platform:fee_revenue").credits_posted == 160 * YUAN
    assert ledger.balance("platform:premium_clearing").debits_pending == 0
    assert ledger.check().clean

    listed = client.get("/v1/guarantees", headers=h)
    assert [x["guarantee_no"] for x in body(listed)["data"]] == [number]


def test_reviewing_insurer_approves_later_then_issues(
    client: TestClient, container: Container, market: Market
) -> None:
    from gateway.broker.workflow import Broker

    app = apply(client, container, market.section)
    offer = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-INSURER")
    accepted = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, BIDDER),
    )
    assert body(accepted)["status"] == "under_review"
    early = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER))
    assert early.status_code == 409
    assert body(early)["code"] == "invalid_transition"
    Broker.from_container(container).decide(
        institution_code="SBX-INSURER", application_id=str(app["id"]), approve=True, reason=None
    )
    paid = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER))
    assert body(paid)["status"] == "issued"


def test_insurer_rejection_and_refusal_to_issue_leave_no_premium(
    client: TestClient, container: Container, market: Market
) -> None:
    from gateway.broker.workflow import Broker

    app = apply(client, container, market.section)
    offer = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-INSURER")
    client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, BIDDER),
    )
    Broker.from_container(container).decide(
        institution_code="SBX-INSURER", application_id=str(app["id"]), approve=False, reason="KYC"
    )
    assert (
        body(client.get(f"/v1/applications/{app['id']}", headers=headers(container, BIDDER)))["status"]
        == "rejected"
    )

    # A second application is allowed once the first is dead; the bank takes the money then refuses.
    sandbox(container.institutions["SBX-BANK"]).behaviour.refuse_issue = True
    second = apply(client, container, market.section)
    offer = next(o for o in second["offers"] if o["institution"]["code"] == "SBX-BANK")
    client.post(
        f"/v1/applications/{second['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, BIDDER),
    )
    paid = client.post(
        f"/v1/applications/{second['id']}/payments", json={}, headers=headers(container, BIDDER)
    )
    assert body(paid)["status"] == "rejected"
    ledger = book(container)
    clearing = ledger.balance("platform:premium_clearing")
    assert (clearing.debits_posted, clearing.debits_pending) == (0, 0)
    assert len(payments(container).refunds) == 1


def test_cancel_after_payment_before_issue_voids_and_refunds(
    client: TestClient, container: Container, market: Market
) -> None:
    sandbox(container.institutions["SBX-BANK"]).behaviour.fail_issue = True  # stays paid
    app = apply(client, container, market.section)
    offer = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-BANK")
    client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, BIDDER),
    )
    paid = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER))
    assert body(paid)["status"] == "paid"
    assert book(container).balance("platform:premium_clearing").debits_pending == 1_600 * YUAN
    cancelled = client.post(f"/v1/applications/{app['id']}/cancel", headers=headers(container, BIDDER))
    assert body(cancelled)["status"] == "cancelled"
    assert book(container).balance("platform:premium_clearing").debits_pending == 0
    assert len(payments(container).refunds) == 1


def test_surrender_before_opening_refunds_the_whole_premium(
    client: TestClient, container: Container, market: Market
) -> None:
    number = issue(client, container, market.section)
    response = client.post(
        f"/v1/guarantees/{number}/surrender", json={"reason": "withdrawn"}, headers=headers(container, BIDDER)
    )
    assert response.status_code == 200, response.text
    assert body(response)["status"] == "surrendered"
    refund = book(container).balance("bidder:" + BIDDER + ":premium_refund")
    # Owed back in full (institution's share and the platform fee), then paid out through the provider.
    assert refund.credits_posted == 1_600 * YUAN
    assert refund.debits_posted == 1_600 * YUAN
    assert refund.debits_pending == 0
    assert book(container).balance("platform:premium_clearing").credits_posted == 1_600 * YUAN
    assert book(container).balance("institution:SBX-BANK:payable").debits_posted == 1_440 * YUAN
    assert len(payments(container).refunds) == 1
    assert book(container).check().clean
    again = client.post(
        f"/v1/guarantees/{number}/surrender", json={"reason": "withdrawn"}, headers=headers(container, BIDDER)
    )
    assert again.status_code == 409
    assert body(again)["code"] == "invalid_transition"


def issue(client: TestClient, container: Container, section: str, uscc: str = BIDDER) -> str:
    app = apply(client, container, section, uscc)
    offer = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-BANK")
    client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, uscc),
    )
    paid = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, uscc))
    assert body(paid)["status"] == "issued", paid.text
    return str(body(paid)["guarantee_no"])


def test_surrender_after_lock_is_refused(client: TestClient, container: Container, market: Market) -> None:
    from gateway.broker import service
    from gateway.broker.machine import Event
    from gateway.db import transaction

    number = issue(client, container, market.section)
    with transaction(container.sessions) as session:
        row = session.get(Guarantee, number)
        assert row is not None
        app = session.get(Application, row.application_id)
        assert app is not None
        service.transition(session, app, Event.LOCK, actor="center:test", now=container.clock())
    before = book(container).balance("platform:premium_clearing")
    response = client.post(
        f"/v1/guarantees/{number}/surrender",
        json={"reason": "terminated"},
        headers=headers(container, BIDDER),
    )
    assert response.status_code == 409
    assert body(response)["code"] == "guarantee_locked"
    assert book(container).balance("platform:premium_clearing") == before


def test_bad_inputs_are_4xx_with_stable_codes_and_change_nothing(
    client: TestClient, container: Container, market: Market
) -> None:
    def problem(response: object, status: int, code: str) -> None:
        assert response.status_code == status, response.text  # type: ignore[attr-defined]
        assert body(response)["code"] == code

    problem(
        client.post(
            "/v1/applications",
            json={"section_code": market.section},
            headers=headers(container, "91440300MA5T0000XX"),
        ),
        422,
        "invalid_uscc",
    )
    problem(
        client.post("/v1/applications", json={"section_code": "NOPE"}, headers=headers(container, BIDDER)),
        404,
        "section_not_found",
    )
    closed = add_section(container, deadline_in=timedelta(hours=-1))
    problem(
        client.post("/v1/applications", json={"section_code": closed}, headers=headers(container, BIDDER)),
        409,
        "section_closed",
    )
    problem(
        client.post(
            "/v1/applications",
            json={"section_code": market.section},
            headers={"Authorization": headers(container, BIDDER)["Authorization"]},
        ),
        400,
        "idempotency_key_required",
    )

    app = apply(client, container, market.section)
    problem(
        client.post(
            "/v1/applications", json={"section_code": market.section}, headers=headers(container, BIDDER)
        ),
        409,
        "application_exists",
    )
    other = apply(client, container, market.section, OTHER)
    offers = app["offers"]
    assert isinstance(offers, list)
    other_offer = other["offers"][0]["offer_id"]
    problem(
        client.post(
            f"/v1/applications/{app['id']}/accept",
            json={"offer_id": other_offer},
            headers=headers(container, BIDDER),
        ),
        404,
        "offer_not_found",
    )
    # Another bidder's application does not exist for this bidder.
    problem(
        client.get(f"/v1/applications/{other['id']}", headers=headers(container, BIDDER)),
        404,
        "application_not_found",
    )
    problem(
        client.post(f"/v1/applications/{other['id']}/payments", json={}, headers=headers(container, BIDDER)),
        404,
        "application_not_found",
    )

    bank = next(o for o in offers if o["institution"]["code"] == "SBX-BANK")
    client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": bank["offer_id"]},
        headers=headers(container, BIDDER),
    )
    problem(
        client.post(
            f"/v1/applications/{app['id']}/payments",
            json={"method": "cash"},
            headers=headers(container, BIDDER),
        ),
        422,
        "unsupported_payment_method",
    )
    paid = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER))
    assert body(paid)["status"] == "issued"
    before = book(container).balance("platform:premium_clearing")
    problem(
        client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER)),
        409,
        "already_paid",
    )
    problem(
        client.post(
            f"/v1/applications/{app['id']}/accept",
            json={"offer_id": bank["offer_id"]},
            headers=headers(container, BIDDER),
        ),
        409,
        "already_paid",
    )
    assert book(container).balance("platform:premium_clearing") == before
    number = body(paid)["guarantee_no"]
    problem(
        client.get(f"/v1/guarantees/{number}", headers=headers(container, OTHER)), 404, "guarantee_not_found"
    )
    problem(
        client.get(f"/v1/guarantees/{number}/letter.pdf", headers=headers(container, OTHER)),
        404,
        "guarantee_not_found",
    )


def test_expired_offer_is_refused_and_changes_nothing(
    client: TestClient, container: Container, market: Market
) -> None:
    from datetime import UTC, datetime

    app = apply(client, container, market.section)
    offer = app["offers"][0]
    container.clock = lambda: datetime.now(UTC) + timedelta(hours=1)
    response = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, BIDDER),
    )
    assert response.status_code == 409
    assert body(response)["code"] == "offer_expired"
    assert (
        body(client.get(f"/v1/applications/{app['id']}", headers=headers(container, BIDDER)))["status"]
        == "offered"
    )


def test_declines_and_failures_do_not_block_other_quotes(
    client: TestClient, container: Container, market: Market
) -> None:
    sandbox(container.institutions["SBX-BANK"]).behaviour.decline_usccs.add(BIDDER)
    sandbox(container.institutions["SBX-INSURER"]).behaviour.fail_quotes = True
    app = apply(client, container, market.section)
    assert [o["institution"]["code"] for o in app["offers"]] == ["SBX-GUARANTOR"]


def test_letter_pdf_is_the_institution_signed_letter(
    client: TestClient, container: Container, market: Market
) -> None:
    number = issue(client, container, market.section)
    pdf = client.get(f"/v1/guarantees/{number}/letter.pdf", headers=headers(container, BIDDER)).content
    from signing.certificates import TrustStore
    from signing.letter import verify_letter

    trust = TrustStore.from_pem(container.sandbox_parties[0].trust_pem.encode())
    verdict = verify_letter(pdf, trust)
    assert verdict.ok, verdict.checks
    assert verdict.letter is not None
    assert verdict.letter.guarantee_no == number


def test_lapsed_offers_expire_the_order_and_free_the_slot(
    client: TestClient, container: Container, market: Market
) -> None:
    from datetime import UTC, datetime

    from gateway.broker.workflow import Broker

    app = apply(client, container, market.section)
    assert Broker.from_container(container).expire_offers() == []
    container.clock = lambda: datetime.now(UTC) + timedelta(hours=1)
    assert Broker.from_container(container).expire_offers() == [app["id"]]
    current = client.get(f"/v1/applications/{app['id']}", headers=headers(container, BIDDER))
    assert body(current)["status"] == "expired_offer"
    again = client.post(
        "/v1/applications", json={"section_code": market.section}, headers=headers(container, BIDDER)
    )
    assert again.status_code == 201


def test_a_guarantee_signed_with_the_wrong_key_is_not_accepted(
    client: TestClient, container: Container, market: Market
) -> None:
    bank, insurer = (
        sandbox(container.institutions["SBX-BANK"]),
        sandbox(container.institutions["SBX-INSURER"]),
    )
    bank.identity = insurer.identity  # signs with a key the bank's certificate does not certify
    bank.behaviour.render_letter = False
    app = apply(client, container, market.section)
    offer = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-BANK")
    client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, BIDDER),
    )
    paid = client.post(f"/v1/applications/{app['id']}/payments", json={}, headers=headers(container, BIDDER))
    assert paid.status_code == 502
    assert body(paid)["code"] == "institution_signature_invalid"
    current = body(client.get(f"/v1/applications/{app['id']}", headers=headers(container, BIDDER)))
    assert current["status"] == "paid"
    assert current["guarantee_no"] is None
    with container.sessions() as session:
        assert session.scalars(select(Guarantee)).all() == []
    clearing = book(container).balance("platform:premium_clearing")
    assert (clearing.debits_pending, clearing.debits_posted) == (1_600 * YUAN, 0)
