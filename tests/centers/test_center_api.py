"""The center API over signed HTTP: bad input changes nothing, object-level authorization, the
termination policy, the tampered-letter check, and extensions through the partner API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.broker.tables import Application, Guarantee, Payment
from gateway.centers.tables import ExtensionRequest
from gateway.composition import Container
from gateway.outbox.tables import OutboxEvent
from gateway.sections.tables import Center, Section
from tests.broker.broker_factories import CENTER, bidder_uscc, body, headers, sandbox
from tests.centers.center_factories import (
    Party,
    buy,
    new_code,
    quiet_letters,
    register,
    section_body,
    seed_institutions,
    signed,
)

B1, B2, B3 = bidder_uscc(801), bidder_uscc(802), bidder_uscc(803)
DEADLINE = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)


@pytest.fixture
def center(container: Container) -> Party:
    seed_institutions(container)
    return register(container, "center", CENTER)


def put_section(client: TestClient, center: Party, code: str, **overrides: Any) -> Any:
    return signed(
        client, center, "PUT", f"/center/v1/sections/{code}", section_body(deadline=DEADLINE, **overrides)
    )


def fresh_section(client: TestClient, center: Party) -> str:
    code = new_code()
    response = put_section(client, center, code)
    assert response.status_code == 200, response.text
    return code


def event(client: TestClient, center: Party, code: str, payload: dict[str, Any]) -> Any:
    return signed(client, center, "POST", f"/center/v1/sections/{code}/events", payload)


def check(client: TestClient, center: Party, code: str, bidders: list[str], *, lock: bool = False) -> Any:
    payload = {"bidders": [{"uscc": u, "name": f"投标人{u[-4:]}"} for u in bidders], "lock": lock}
    return signed(client, center, "POST", f"/center/v1/sections/{code}/security-checks", payload)


def app_status(container: Container, guarantee_no: str) -> str:
    with container.sessions() as session:
        guarantee = session.get(Guarantee, guarantee_no)
        assert guarantee is not None
        app = session.get(Application, guarantee.application_id)
        assert app is not None
        return app.status


def count(container: Container, table: type) -> int:
    with container.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"bid_opening_at": (DEADLINE - timedelta(minutes=1)).isoformat()}, "opening_before_deadline"),
        ({"deposit_fen": -100}, "invalid_deposit"),
        ({"deposit_fen": 0}, "invalid_deposit"),
        ({"bid_validity_days": 0}, "invalid_validity_days"),
        ({"tenderee_uscc": "91440300MA5T00000X"}, "invalid_tenderee_uscc"),
    ],
)
def test_a_bad_section_is_refused_with_its_code_and_nothing_changes(
    client: TestClient, container: Container, center: Party, overrides: dict[str, Any], code: str
) -> None:
    existing = fresh_section(client, center)
    events = count(container, OutboxEvent)
    for target in (new_code(), existing):
        response = put_section(client, center, target, **overrides)
        assert response.status_code == 422, response.text
        assert body(response)["code"] == code
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Section)) == 1
        row = session.get(Section, existing)
        assert row is not None
        assert (row.deposit_fen, row.bid_validity_days, row.bid_opening_at) == (800_000 * 100, 90, DEADLINE)
    assert count(container, OutboxEvent) == events


def test_a_center_cannot_see_or_change_another_centers_section(
    client: TestClient, container: Container, center: Party
) -> None:
    code = fresh_section(client, center)
    other = register(container, "center", "OTHER-CENTER")
    assert body(put_section(client, other, code, deposit_fen=1))["code"] == "unknown_section"
    assert event(client, other, code, {"type": "terminated"}).status_code == 404
    assert check(client, other, code, [B1]).status_code == 404
    with container.sessions() as session:
        row = session.get(Section, code)
        assert row is not None
        assert (row.center_code, row.deposit_fen, row.status) == (CENTER, 800_000 * 100, "open")


def test_bidders_and_institutions_cannot_call_the_center_api(
    client: TestClient, container: Container
) -> None:
    response = client.put(
        f"/center/v1/sections/{new_code()}", json=section_body(), headers=headers(container, B1)
    )
    assert response.status_code == 403
    institution = register(container, "institution", "SBX-BANK")
    assert (
        signed(client, institution, "PUT", f"/center/v1/sections/{new_code()}", section_body()).status_code
        == 403
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "postponed"},
        {"type": "awarded"},
        {"type": "contract_signed", "signed_on": "yesterday"},
        {"type": "opening_changed"},
        {"bid_opening_at": DEADLINE.isoformat()},
    ],
)
def test_malformed_events_are_422_and_change_nothing(
    client: TestClient, container: Container, center: Party, payload: dict[str, Any]
) -> None:
    code = fresh_section(client, center)
    events = count(container, OutboxEvent)
    response = event(client, center, code, payload)
    assert response.status_code == 422, response.text
    assert count(container, OutboxEvent) == events


def test_events_for_unknown_sections_and_out_of_order_are_refused(
    client: TestClient, container: Container, center: Party
) -> None:
    missing = event(client, center, "NO-SUCH", {"type": "terminated"})
    assert (missing.status_code, body(missing)["code"]) == (404, "unknown_section")
    code = fresh_section(client, center)
    early = event(
        client,
        center,
        code,
        {"type": "opening_changed", "bid_opening_at": (DEADLINE - timedelta(hours=1)).isoformat()},
    )
    assert (early.status_code, body(early)["code"]) == (422, "opening_before_deadline")
    signed_first = event(client, center, code, {"type": "contract_signed", "signed_on": "2026-12-01"})
    assert (signed_first.status_code, body(signed_first)["code"]) == (409, "event_out_of_order")
    bad_winner = event(client, center, code, {"type": "awarded", "winner_uscc": "123"})
    assert (bad_winner.status_code, body(bad_winner)["code"]) == (422, "invalid_uscc")
    with container.sessions() as session:
        row = session.get(Section, code)
        assert row is not None
        assert (row.status, row.bid_opening_at, row.winner_uscc) == ("open", DEADLINE, None)


def test_a_malformed_uscc_in_a_check_is_422_naming_the_index_and_locks_nothing(
    client: TestClient, container: Container, center: Party
) -> None:
    quiet_letters(container)
    code = fresh_section(client, center)
    number = buy(client, container, code, B1, "SBX-BANK")
    payload = {
        "bidders": [{"uscc": B1, "name": "投标人0801"}, {"uscc": "91440300MA5T0000", "name": "x"}],
        "lock": True,
    }
    response = signed(client, center, "POST", f"/center/v1/sections/{code}/security-checks", payload)
    assert response.status_code == 422, response.text
    assert (body(response)["code"], body(response)["index"]) == ("invalid_uscc", 1)
    assert app_status(container, number) == "issued"


def test_a_tampered_stored_letter_or_signed_data_is_signature_invalid(
    client: TestClient, container: Container, center: Party
) -> None:
    code = fresh_section(client, center)
    letter_no = buy(client, container, code, B1, "SBX-BANK")
    data_no = buy(client, container, code, B2, "SBX-GUARANTOR")
    assert [r["valid"] for r in body(check(client, center, code, [B1, B2]))["results"]] == [True, True]
    with container.sessions() as session, session.begin():
        letter = session.get(Guarantee, letter_no)
        data = session.get(Guarantee, data_no)
        assert letter is not None
        assert data is not None
        assert letter.letter_pdf is not None
        letter.letter_pdf = letter.letter_pdf.replace(b"800,000", b"900,000", 1) + b"%tampered"
        data.signed_data = data.signed_data.replace('"amount_fen":80000000', '"amount_fen":90000000')
    results = body(check(client, center, code, [B1, B2], lock=True))["results"]
    assert [(r["valid"], r["reasons"], r["locked"]) for r in results] == [
        (False, ["signature_invalid"], False),
        (False, ["signature_invalid"], False),
    ]
    assert app_status(container, letter_no) == app_status(container, data_no) == "issued"


def test_termination_surrenders_with_full_refund_and_cancels_pending_orders(
    client: TestClient, container: Container, center: Party
) -> None:
    quiet_letters(container)
    code = fresh_section(client, center)
    number = buy(client, container, code, B1, "SBX-BANK")
    locked_no = buy(client, container, code, B3, "SBX-GUARANTOR")
    assert body(check(client, center, code, [B3], lock=True))["results"][0]["locked"]
    pending = client.post("/v1/applications", json={"section_code": code}, headers=headers(container, B2))
    assert pending.status_code == 201

    done = event(client, center, code, {"type": "terminated"})
    assert done.status_code == 200, done.text
    assert (body(done)["surrendered"], body(done)["cancelled"], body(done)["section_status"]) == (
        1,
        1,
        "terminated",
    )
    assert app_status(container, number) == "surrendered"
    assert app_status(container, locked_no) == "locked"  # locked at opening: it stays the security
    with container.sessions() as session:
        guarantee = session.get(Guarantee, number)
        assert guarantee is not None
        payment = session.scalar(select(Payment).where(Payment.application_id == guarantee.application_id))
        assert payment is not None
        assert payment.status == "refunded"
        assert (
            session.scalar(select(Application.status).where(Application.id == body(pending)["id"]))
            == "cancelled"
        )
        types = list(session.scalars(select(OutboxEvent.type).where(OutboxEvent.center_code == CENTER)))
    assert "guarantee.surrendered" in types
    assert "section.terminated" in types

    # Repeating the event is harmless
    again = event(client, center, code, {"type": "terminated"})
    assert (again.status_code, body(again)["surrendered"], body(again)["cancelled"]) == (200, 0, 0)
    assert types.count("section.terminated") == 1
    # A terminated section takes no award
    assert event(client, center, code, {"type": "awarded", "winner_uscc": B1}).status_code == 409


def test_termination_under_a_no_refund_policy_releases(
    client: TestClient, container: Container, center: Party
) -> None:
    quiet_letters(container)
    code = fresh_section(client, center)
    with container.sessions() as session, session.begin():
        row = session.get(Center, CENTER)
        assert row is not None
        assert row.termination_refund == "full"  # the default
        row.termination_refund = "none"
    number = buy(client, container, code, B1, "SBX-BANK")
    done = event(client, center, code, {"type": "terminated"})
    assert (body(done)["surrendered"], body(done)["released"]) == (0, 1)
    assert app_status(container, number) == "released"


def test_an_unanswered_extension_is_cover_short_until_the_institution_extends_through_the_partner_api(
    client: TestClient, container: Container, center: Party
) -> None:
    quiet_letters(container)
    code = fresh_section(client, center)
    number = buy(client, container, code, B1, "SBX-BANK")
    sandbox(container.institutions["SBX-BANK"]).behaviour.fail_extension = True
    # A PUT that moves the opening is an opening_changed event
    moved = put_section(client, center, code, bid_opening_at=(DEADLINE + timedelta(days=3)).isoformat())
    assert moved.status_code == 200, moved.text
    assert body(moved)["extension_requests"] == 1
    assert body(check(client, center, code, [B1]))["results"][0]["reasons"] == ["cover_short"]
    with container.sessions() as session:
        request = session.scalar(select(ExtensionRequest))
        assert request is not None
        assert request.status == "open"
        required: date = request.required_cover_end

    bank = register(container, "institution", "SBX-BANK")
    other = register(container, "institution", "SBX-GUARANTOR")
    path = f"/partner/v1/guarantees/{number}/extension"
    foreign = signed(client, other, "POST", path, {"new_cover_end": required.isoformat()})
    assert (foreign.status_code, body(foreign)["code"]) == (404, "guarantee_not_found")
    short = signed(client, bank, "POST", path, {"new_cover_end": (required - timedelta(days=1)).isoformat()})
    assert (short.status_code, body(short)["code"]) == (422, "extension_too_short")
    ok = signed(client, bank, "POST", path, {"new_cover_end": required.isoformat()})
    assert ok.status_code == 200, ok.text
    assert body(ok) == {"guarantee_no": number, "cover_end": required.isoformat(), "status": "extended"}
    assert body(check(client, center, code, [B1]))["results"][0]["valid"] is True
    again = signed(client, bank, "POST", path, {"new_cover_end": required.isoformat()})
    assert (again.status_code, body(again)["code"]) == (409, "no_open_extension_request")

    # The same opening change again asks nothing new
    repeat = event(
        client,
        center,
        code,
        {"type": "opening_changed", "bid_opening_at": (DEADLINE + timedelta(days=3)).isoformat()},
    )
    assert body(repeat)["extension_requests"] == 0
    assert count(container, ExtensionRequest) == 1
