"""The finance API: object-level by center, exports, forfeits and locks in the right states only."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from gateway.audit.tables import AuditRecord
from gateway.db import transaction
from gateway.deposits.errors import DepositNotFound, WrongState
from gateway.deposits.tables import Deposit
from gateway.finance import section_events
from tests.deposits.deposit_factories import DEPOSIT, World, bidder


def test_lists_export_as_csv_and_xlsx_with_yuan(world: World) -> None:
    section = world.add_section()
    world.notice(section, 1)
    world.notice(section, 2, amount_fen=DEPOSIT + 1)
    csv = world.finance_get("/finance/v1/deposits", format="csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert "80000.00" in text
    assert bidder(1)[0] in text
    xlsx = world.finance_get("/finance/v1/deposit-exceptions", format="xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][1] == "wrong_amount"
    assert str(rows[1][3]) == "80000.01"
    assert world.finance_get("/finance/v1/deposits", format="pdf").status_code == 422


def test_another_centers_objects_are_404_and_lists_are_empty(world: World) -> None:
    section = world.add_section()
    deposit_id = world.notice(section, 1).json()["deposit_id"]
    assert world.finance_get(f"/finance/v1/deposits/{deposit_id}").status_code == 200
    assert world.finance_get(f"/finance/v1/deposits/{deposit_id}", center="DEP-OTHER").status_code == 404
    forfeit = world.finance_post(
        f"/finance/v1/deposits/{deposit_id}/forfeit", {"reason": "x"}, center="DEP-OTHER"
    )
    assert forfeit.status_code == 404
    assert world.finance_get("/finance/v1/deposits", center="DEP-OTHER").json() == []
    with transaction(world.container.sessions) as session:
        section_events.on_section_terminated(session, section, now=world.clock())
    batch = world.finance_post(
        "/finance/v1/refund-batches", {"deposit_ids": [deposit_id]}, center="DEP-OTHER"
    )
    assert batch.status_code == 409  # nothing of the other center's is refundable: this one is not theirs
    assert world.finance_get("/finance/v1/refund-batches/rb_nope").status_code == 404
    as_bidder = world.client.get("/finance/v1/deposits", headers=world.bidder_headers(1))
    assert as_bidder.status_code == 403


def test_forfeit_and_lock_only_from_the_right_states(world: World) -> None:
    section = world.add_section()
    deposit_id = world.notice(section, 1).json()["deposit_id"]
    with transaction(world.container.sessions) as session:
        section_events.lock_deposit(session, deposit_id, now=world.clock())
        section_events.lock_deposit(session, deposit_id, now=world.clock())  # again: no change
        found = section_events.find_deposit(session, section_code=section, bidder_uscc=bidder(1)[0])
        assert found is not None
        assert found.status == "locked"
    first = world.finance_post(f"/finance/v1/deposits/{deposit_id}/forfeit", {"reason": "中标人拒签合同"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "forfeited"
    with world.container.sessions() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "deposit.forfeit")).one()
        assert (record.actor, record.object_id) == ("finance:DEP-CENTER", deposit_id)
    again = world.finance_post(f"/finance/v1/deposits/{deposit_id}/forfeit", {"reason": "again"})
    assert again.status_code == 409
    assert again.json()["code"] == "wrong_state"
    with transaction(world.container.sessions) as session:
        assert section_events.find_deposit(session, section_code=section, bidder_uscc=bidder(1)[0]) is None
        try:
            section_events.lock_deposit(session, deposit_id, now=world.clock())
        except WrongState:
            pass
        else:
            raise AssertionError("a forfeited deposit was locked")
    assert world.finance_post(f"/finance/v1/deposits/{deposit_id}/forfeit", {"reason": ""}).status_code == 422


def test_lock_deposits_locks_a_whole_opening_at_once_all_or_nothing(world: World) -> None:
    section = world.add_section()
    ids = [world.notice(section, n).json()["deposit_id"] for n in (1, 2, 3)]
    with transaction(world.container.sessions) as session:
        section_events.lock_deposit(session, ids[0], now=world.clock())  # already locked: no change
        section_events.lock_deposits(session, ids, now=world.clock())
        section_events.lock_deposits(session, [], now=world.clock())
    with world.container.sessions() as session:
        assert [session.get(Deposit, i).status for i in ids] == ["locked"] * 3  # type: ignore[union-attr]
    fresh = world.notice(section, 4).json()["deposit_id"]
    forfeit = world.finance_post(f"/finance/v1/deposits/{ids[2]}/forfeit", {"reason": "中标人拒签合同"})
    assert forfeit.status_code == 200, forfeit.text
    for refused, error in (([fresh, ids[2]], WrongState), ([fresh, "dep_missing"], DepositNotFound)):
        with pytest.raises(error), transaction(world.container.sessions) as session:
            section_events.lock_deposits(session, refused, now=world.clock())
        with world.container.sessions() as session:
            assert session.get(Deposit, fresh).status == "held"  # type: ignore[union-attr]  # nothing locked


def test_exceptions_resolve_once(world: World) -> None:
    section = world.add_section()
    exception_id = world.notice(section, 1, payer_name="代付公司").json()["exception_id"]
    world.bank.behaviour.fail_instructions.clear()
    returned = world.finance_post(
        f"/finance/v1/deposit-exceptions/{exception_id}/return", {"note": "退回代付方"}
    )
    assert returned.status_code == 200, returned.text
    again = world.finance_post(
        f"/finance/v1/deposit-exceptions/{exception_id}/assign",
        {"section_code": section, "bidder_uscc": bidder(1)[0], "note": "x"},
    )
    assert again.status_code == 409
    # The return fails at the bank: the money is back in the queue, open again, and can be assigned.
    failed = world.bank_post(
        "/bank/v1/payment-results",
        {
            "instruction_id": returned.json()["id"],
            "status": "failed",
            "bank_reference": "R",
            "reason": "户名不符",
        },
    )
    assert failed.json()["status"] == "failed"
    queue = world.finance_get("/finance/v1/deposit-exceptions").json()
    assert [(row["id"], row["status"]) for row in queue] == [(exception_id, "open")]
    assigned = world.finance_post(
        f"/finance/v1/deposit-exceptions/{exception_id}/assign",
        {"section_code": section, "bidder_uscc": bidder(1)[0], "note": "投标人书面确认代付"},
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["payer_name"] == "代付公司"
    assert assigned.json()["bidder_name"] == bidder(1)[1]
