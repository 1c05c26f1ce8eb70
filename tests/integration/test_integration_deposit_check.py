"""Cash deposits in the bid-opening check, end to end over the real APIs: the center registers its
section (signed), bidders read their sub-accounts, the escrow bank posts deposit notices (signed), the
center's check at opening reports each bidder's cash deposit (valid, amount_short, not_found) and
locks the valid ones; terminated / contract_signed events make the deposits refundable, due in 5 days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from gateway.deposits.tables import Deposit
from tests.deposits.deposit_factories import DEPOSIT, YUAN, World, bidder
from tests.integration.integration_parts import center_of

CLEAN, SHORT, NAME_WRONG, NOTHING, LATE_MONEY = 1, 2, 3, 4, 5


def deposit_status(world: World, deposit_id: str) -> tuple[str, date | None]:
    with world.container.sessions() as session:
        row = session.get(Deposit, deposit_id)
        assert row is not None
        return row.status, row.refund_due_on


def notice_ok(world: World, section: str, n: int, **overrides: Any) -> dict[str, Any]:
    response = world.notice(section, n, **overrides)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_the_opening_check_reports_cash_deposits_and_locks_the_valid_one(world: World) -> None:
    center = center_of(world)
    section = center.put_section()

    clean = notice_ok(world, section, CLEAN)
    short = notice_ok(world, section, SHORT, amount_fen=DEPOSIT - 1_000 * YUAN)
    wrong_payer = notice_ok(world, section, NAME_WRONG, payer_name="另一家公司")
    assert (clean["outcome"], clean["reason"]) == ("matched", None)
    assert (short["outcome"], short["reason"]) == ("exception", "wrong_amount")
    assert (wrong_payer["outcome"], wrong_payer["reason"]) == ("exception", "payer_name_mismatch")

    # Before finance looks at the queue: only the clean deposit counts; odd money is not a security.
    first = center.check(section, [CLEAN, SHORT, NAME_WRONG, NOTHING], lock=False)
    assert [(r["uscc"], r["valid"], r["reasons"], r["locked"]) for r in first] == [
        (bidder(CLEAN)[0], True, [], False),
        (bidder(SHORT)[0], False, ["not_found"], False),
        (bidder(NAME_WRONG)[0], False, ["not_found"], False),
        (bidder(NOTHING)[0], False, ["not_found"], False),
    ]
    assert first[0]["security"] == {"kind": "deposit", "reference": clean["deposit_id"]}
    assert deposit_status(world, clean["deposit_id"])[0] == "held"  # no lock asked

    # Finance assigns the short payment to its bidder by hand: now a deposit, but short.
    assigned = world.finance_post(
        f"/finance/v1/deposit-exceptions/{short['exception_id']}/assign",
        {"section_code": section, "bidder_uscc": bidder(SHORT)[0], "note": "paid short, checked by phone"},
    )
    assert assigned.status_code == 200, assigned.text
    short_deposit = assigned.json()["id"]

    checked = center.check(section, [CLEAN, SHORT, NAME_WRONG, NOTHING], lock=True)
    assert [(r["valid"], r["reasons"], r["locked"]) for r in checked] == [
        (True, [], True),
        (False, ["amount_short"], False),
        (False, ["not_found"], False),
        (False, ["not_found"], False),
    ]
    assert checked[1]["security"] == {"kind": "deposit", "reference": short_deposit}
    assert deposit_status(world, clean["deposit_id"])[0] == "locked"
    assert deposit_status(world, short_deposit)[0] == "held"  # an invalid security is never locked
    # Asking again returns the same answer.
    assert center.check(section, [CLEAN, SHORT, NAME_WRONG, NOTHING], lock=True) == checked

    # Money that arrives after the bid deadline is never a valid deposit.
    world.clock.advance(days=8)
    late = notice_ok(world, section, LATE_MONEY)
    assert (late["outcome"], late["reason"]) == ("exception", "after_deadline")
    [late_result] = center.check(section, [LATE_MONEY], lock=True)
    assert (late_result["valid"], late_result["reasons"]) == (False, ["not_found"])

    # Award, then contract signing: every deposit of the section becomes refundable, due 5 days after.
    center.event(section, {"type": "awarded", "winner_uscc": bidder(CLEAN)[0]})
    assert deposit_status(world, clean["deposit_id"]) == ("locked", None)  # the award moves nothing yet
    signed_on = world.clock().date()
    center.event(section, {"type": "contract_signed", "signed_on": signed_on.isoformat()})
    due = signed_on + timedelta(days=5)
    assert deposit_status(world, clean["deposit_id"]) == ("refundable", due)
    assert deposit_status(world, short_deposit) == ("refundable", due)
    listed = world.finance_get("/finance/v1/refunds/due")
    assert listed.status_code == 200, listed.text
    assert sorted(
        (i["deposit"]["id"], i["deposit"]["refund_due_on"], i["overdue"]) for i in listed.json()
    ) == sorted([(clean["deposit_id"], due.isoformat(), False), (short_deposit, due.isoformat(), False)])
    world.clock.advance(days=6)
    overdue = world.finance_get("/finance/v1/refunds/due", overdue="true").json()
    assert {i["deposit"]["id"] for i in overdue} == {clean["deposit_id"], short_deposit}


def test_a_terminated_section_makes_its_deposits_refundable_within_five_days(world: World) -> None:
    center = center_of(world)
    section = center.put_section()
    other = center.put_section()
    first = notice_ok(world, section, CLEAN)["deposit_id"]
    second = notice_ok(world, section, SHORT)["deposit_id"]
    untouched = notice_ok(world, other, CLEAN)["deposit_id"]
    [locked] = center.check(section, [CLEAN], lock=True)
    assert locked["locked"] is True

    terminated = center.event(section, {"type": "terminated", "reason": "招标人撤回"})
    assert terminated["section_status"] == "terminated"
    due = world.clock().date() + timedelta(days=5)  # 10:00 Shanghai: the same calendar day as UTC
    assert deposit_status(world, first) == ("refundable", due)  # locked or not
    assert deposit_status(world, second) == ("refundable", due)
    assert deposit_status(world, untouched) == ("held", None)  # another section: not affected
    # The same event again changes nothing.
    center.event(section, {"type": "terminated", "reason": "招标人撤回"})
    with world.container.sessions() as session:
        rows = session.scalars(select(Deposit).where(Deposit.section_code == section)).all()
    assert sorted((r.status, r.refund_due_on) for r in rows) == [("refundable", due)] * 2
    # A deposit of a terminated section is not a valid security any more.
    [after] = center.check(section, [CLEAN], lock=False)
    assert after["valid"] is False
