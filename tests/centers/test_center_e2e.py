"""A center's section from registration to contract signing, over signed HTTP: bidders buy guarantees,
the opening moves, one institution extends and one does not, the check at opening reports both and
locks, the award and the contract signing release."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.broker.tables import Application, Guarantee
from gateway.centers.tables import ExtensionRequest
from gateway.composition import Container
from gateway.outbox.tables import OutboxEvent
from tests.broker.broker_factories import CENTER, bidder_uscc, body, headers, sandbox
from tests.centers.center_factories import buy, new_code, register, section_body, seed_institutions, signed

BANK_BIDDER, GUARANTOR_BIDDER, NOBODY = bidder_uscc(701), bidder_uscc(702), bidder_uscc(703)


def name(uscc: str) -> str:
    return f"投标人{uscc[-4:]}"  # the registered name the bidder tokens carry


def statuses(container: Container, *numbers: str) -> list[str]:
    with container.sessions() as session:
        rows = {g.guarantee_no: g.application_id for g in session.scalars(select(Guarantee))}
        return [str(session.get(Application, rows[no]).status) for no in numbers]  # type: ignore[union-attr]


def test_section_life_with_a_moved_opening_check_lock_award_and_contract(
    client: TestClient, container: Container
) -> None:
    seed_institutions(container)
    center = register(container, "center", CENTER)
    code = new_code()
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)

    # The center registers the section by signed PUT
    put = signed(client, center, "PUT", f"/center/v1/sections/{code}", section_body(deadline=deadline))
    assert put.status_code == 200, put.text
    assert body(put)["status"] == "open"

    # Two bidders buy guarantees from two institutions through the bidder API
    bank_no = buy(client, container, code, BANK_BIDDER, "SBX-BANK")
    guarantor_no = buy(client, container, code, GUARANTOR_BIDDER, "SBX-GUARANTOR")
    with container.sessions() as session:
        old_end = session.get(Guarantee, bank_no).cover_end  # type: ignore[union-attr]

    # The opening moves by 10 days; the guarantor refuses to extend, the bank extends
    sandbox(container.institutions["SBX-GUARANTOR"]).behaviour.refuse_extension = True
    moved = deadline + timedelta(days=10)
    event = {"type": "opening_changed", "bid_opening_at": moved.isoformat()}
    changed = signed(client, center, "POST", f"/center/v1/sections/{code}/events", event)
    assert changed.status_code == 200, changed.text
    assert (body(changed)["extension_requests"], body(changed)["extended"]) == (2, 1)
    with container.sessions() as session:
        bank, guarantor = session.get(Guarantee, bank_no), session.get(Guarantee, guarantor_no)
        assert bank is not None
        assert guarantor is not None
        assert bank.cover_end == old_end + timedelta(days=10)
        assert guarantor.cover_end == old_end
        requests = {r.guarantee_no: r.status for r in session.scalars(select(ExtensionRequest))}
    assert requests == {bank_no: "extended", guarantor_no: "refused"}

    # The check at opening reports both correctly (and a bidder with no security), and locks
    bidders = [{"uscc": u, "name": name(u)} for u in (BANK_BIDDER, GUARANTOR_BIDDER, NOBODY)]
    check = signed(
        client,
        center,
        "POST",
        f"/center/v1/sections/{code}/security-checks",
        {"bidders": bidders, "lock": True},
    )
    assert check.status_code == 200, check.text
    results = body(check)["results"]
    assert [(r["uscc"], r["valid"], r["reasons"], r["locked"]) for r in results] == [
        (BANK_BIDDER, True, [], True),
        (GUARANTOR_BIDDER, False, ["cover_short"], False),
        (NOBODY, False, ["not_found"], False),
    ]
    assert results[0]["security"] == {"kind": "guarantee", "reference": bank_no}
    assert results[1]["security"] == {"kind": "guarantee", "reference": guarantor_no}
    assert statuses(container, bank_no, guarantor_no) == ["locked", "issued"]

    # Asking again returns the same answer
    again = signed(
        client,
        center,
        "POST",
        f"/center/v1/sections/{code}/security-checks",
        {"bidders": bidders, "lock": True},
    )
    assert body(again)["results"] == results

    # A locked guarantee cannot be surrendered any more
    refused = client.post(
        f"/v1/guarantees/{bank_no}/surrender",
        json={"reason": "failed_tender"},
        headers=headers(container, BANK_BIDDER),
    )
    assert refused.status_code == 409, refused.text
    assert body(refused)["code"] == "guarantee_locked"

    # The guarantor extends later through the partner API; the check now finds it valid
    guarantor_party = register(container, "institution", "SBX-GUARANTOR")
    with container.sessions() as session:
        required = session.scalar(
            select(ExtensionRequest.required_cover_end).where(ExtensionRequest.guarantee_no == guarantor_no)
        )
    assert isinstance(required, date)
    late = signed(
        client,
        guarantor_party,
        "POST",
        f"/partner/v1/guarantees/{guarantor_no}/extension",
        {"new_cover_end": required.isoformat()},
    )
    # (refused requests are closed: a late extension needs an open request)
    assert late.status_code == 409
    assert body(late)["code"] == "no_open_extension_request"

    # The award releases the non-winner; the contract signing releases the winner
    award = signed(
        client,
        center,
        "POST",
        f"/center/v1/sections/{code}/events",
        {"type": "awarded", "winner_uscc": BANK_BIDDER},
    )
    assert award.status_code == 200, award.text
    assert body(award)["released"] == 1
    assert statuses(container, bank_no, guarantor_no) == ["locked", "released"]
    again_award = signed(
        client,
        center,
        "POST",
        f"/center/v1/sections/{code}/events",
        {"type": "awarded", "winner_uscc": BANK_BIDDER},
    )
    assert again_award.status_code == 200
    assert body(again_award)["released"] == 0
    contract = signed(
        client,
        center,
        "POST",
        f"/center/v1/sections/{code}/events",
        {"type": "contract_signed", "signed_on": "2026-12-20"},
    )
    assert contract.status_code == 200, contract.text
    assert body(contract)["section_status"] == "contract_signed"
    assert statuses(container, bank_no, guarantor_no) == ["released", "released"]

    # The center heard of everything, the institutions of their own guarantees
    with container.sessions() as session:
        events: list[Any] = list(
            session.execute(
                select(OutboxEvent.type, OutboxEvent.center_code, OutboxEvent.institution_code)
                .where(OutboxEvent.type.like("guarantee%") | OutboxEvent.type.like("section.%"))
                .order_by(OutboxEvent.created_at, OutboxEvent.event_id)
            )
        )
    types = [t for t, _, _ in events]
    for expected in (
        "section.upserted",
        "section.opening_changed",
        "guarantee.extension_requested",
        "guarantee.extended",
        "guarantee.extension_refused",
        "guarantees.locked",
        "guarantee.released",
        "section.awarded",
        "section.contract_signed",
    ):
        assert expected in types, expected
    assert all(center_code == CENTER for _, center_code, _ in events)
    assert {i for t, _, i in events if t == "guarantee.extended"} == {"SBX-BANK"}
    assert {i for t, _, i in events if t == "guarantee.extension_refused"} == {"SBX-GUARANTOR"}
