"""End to end: deposits arrive (some odd), finance clears the queue, the section is awarded and the
contract signed (through gateway.finance.section_events, as the center side calls it), refunds go
out with interest, one fails at the bank and is voided, then paid in a second batch; a forfeit; the
ledger checks clean."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from gateway.db import transaction
from gateway.deposits.refunds import settle_instruction
from gateway.deposits.tables import Deposit
from gateway.finance import section_events
from gateway.finance.interest import interest_fen
from gateway.finance.subaccounts import make_subaccount
from gateway.outbox.tables import OutboxEvent
from ledger import Ledger
from tests.deposits.deposit_factories import CENTER, DEPOSIT, PREFIX, TENDEREE, World, bidder, today

ROOT = Path(__file__).resolve().parents[2]


def net(book: Ledger, account: str) -> int:
    return book.balance(account).net


def test_deposits_to_refunds_end_to_end(world: World, database_url: str, tmp_path: Path) -> None:
    section = world.add_section()
    book = Ledger(world.container.engine)
    value_day = today(world)
    # Four clean deposits, one wrong amount (bidder 5), one to a sub-account nobody was given.
    for n in (1, 2, 3, 4):
        assert world.notice(section, n).json()["outcome"] == "matched"
    short = world.notice(section, 5, amount_fen=DEPOSIT - 50_00).json()
    stray = world.notice(section, 6, subaccount=make_subaccount(PREFIX, 77_777_777)).json()
    assert (short["reason"], stray["reason"]) == ("wrong_amount", "unknown_subaccount")
    assert net(book, f"center:{CENTER}:deposit_suspense") == 2 * DEPOSIT - 50_00

    # Finance: the short payment is bidder 5's after all (assign); the stray one goes back (return).
    assigned = world.finance_post(
        f"/finance/v1/deposit-exceptions/{short['exception_id']}/assign",
        {"section_code": section, "bidder_uscc": bidder(5)[0], "note": "投标人确认少付手续费"},
    )
    assert assigned.status_code == 200, assigned.text
    returned = world.finance_post(
        f"/finance/v1/deposit-exceptions/{stray['exception_id']}/return", {"note": "无主款"}
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "sent"
    # Another center's finance sees none of it.
    hidden = world.finance_post(f"/finance/v1/deposit-exceptions/{short['exception_id']}/assign",
                                {"section_code": section, "bidder_uscc": bidder(5)[0], "note": "x"},
                                center="DEP-OTHER")  # fmt: skip
    assert hidden.status_code == 404
    result = world.bank_post(
        "/bank/v1/payment-results",
        {"instruction_id": returned.json()["id"], "status": "succeeded", "bank_reference": "BANK-RET-1"},
    )
    assert result.status_code == 200, result.text
    assert net(book, f"center:{CENTER}:deposit_suspense") == 0

    # Bid opening: the center finds and locks bidder 1's deposit.
    with transaction(world.container.sessions) as session:
        found = section_events.find_deposit(session, section_code=section, bidder_uscc=bidder(1)[0])
        assert found is not None
        assert found.amount_fen == DEPOSIT
        section_events.lock_deposit(session, found.deposit_id, now=world.clock())
        assert section_events.find_deposit(session, section_code=section, bidder_uscc="X" * 18) is None
    # A claim is upheld against bidder 3: its deposit goes to the tenderee.
    deposit_3 = _deposit_of(world, section, 3)
    forfeited = world.finance_post(
        f"/finance/v1/deposits/{deposit_3}/forfeit", {"reason": "开标后撤回投标文件"}
    )
    assert forfeited.status_code == 200, forfeited.text
    assert net(book, f"tenderee:{TENDEREE}:forfeit:{section}") == DEPOSIT

    # Award, then the contract is signed 20 days after the money arrived.
    world.clock.advance(days=20)
    signed_on = today(world)
    with transaction(world.container.sessions) as session:
        section_events.on_awarded(session, section, now=world.clock())
        section_events.on_contract_signed(session, section, signed_on=signed_on, now=world.clock())
    due = world.finance_get("/finance/v1/refunds/due").json()
    assert sorted(item["deposit"]["bidder_uscc"] for item in due) == sorted(
        bidder(n)[0] for n in (1, 2, 4, 5)
    )
    assert {item["days_left"] for item in due} == {5}
    assert not any(item["overdue"] for item in due)

    # Refund batch; bidder 2's account at its bank is closed: that payment fails.
    world.clock.advance(days=2)
    refund_day = today(world)
    world.bank.behaviour.fail_accounts.add(f"4000{2:012d}")
    created = world.finance_post("/finance/v1/refund-batches", {})
    assert created.status_code == 201, created.text
    batch = created.json()
    assert batch["count"] == 4
    assert batch["states"] == {"sent": 4}
    expected = {DEPOSIT: interest_fen(DEPOSIT, value_day, refund_day), DEPOSIT - 50_00:
                interest_fen(DEPOSIT - 50_00, value_day, refund_day)}  # fmt: skip
    assert expected[DEPOSIT] > 0
    for instruction in batch["instructions"]:
        assert instruction["interest_fen"] == expected[instruction["principal_fen"]]
        assert instruction["amount_fen"] == instruction["principal_fen"] + instruction["interest_fen"]
        transfer = book.get_transfer(f"{instruction['id']}:deposit")
        assert transfer is not None
        assert transfer.meta["bank_ref"] == instruction["id"]
        assert transfer.meta["value_date"] == refund_day.isoformat()
    assert batch["total_fen"] == sum(i["amount_fen"] for i in batch["instructions"])

    # The bank reports each outcome.
    for instruction in batch["instructions"]:
        outcome = world.bank.outcome(instruction["id"])
        response = world.bank_post("/bank/v1/payment-results", {
            "instruction_id": instruction["id"], "status": outcome.state.value,
            "bank_reference": outcome.bank_reference, "reason": outcome.reason})  # fmt: skip
        assert response.status_code == 200, response.text
    failed = [i for i in batch["instructions"] if i["payee_account"] == f"4000{2:012d}"]
    assert len(failed) == 1
    # A result repeated is harmless; the opposite outcome is a conflict; another bank's is a 404.
    again = {"instruction_id": failed[0]["id"], "status": "failed", "bank_reference": "", "reason": "closed"}
    assert world.bank_post("/bank/v1/payment-results", again).status_code == 200
    flipped = world.bank_post("/bank/v1/payment-results", {**again, "status": "succeeded"})
    assert flipped.status_code == 409
    assert world.bank_post("/bank/v1/payment-results", again, other=True).status_code == 404

    detail = world.finance_get(f"/finance/v1/refund-batches/{batch['id']}").json()
    assert detail["states"] == {"succeeded": 3, "failed": 1}
    assert net(book, f"bidder:{bidder(2)[0]}:deposit:{section}") == DEPOSIT
    for n in (1, 3, 4, 5):
        assert net(book, f"bidder:{bidder(n)[0]}:deposit:{section}") == 0

    # Six days later bidder 2 is overdue; its bank account works again; a second batch pays it, with
    # the interest of the extra days.
    world.clock.advance(days=6)
    overdue = world.finance_get("/finance/v1/refunds/due", overdue="true").json()
    assert [item["deposit"]["bidder_uscc"] for item in overdue] == [bidder(2)[0]]
    world.bank.behaviour.fail_accounts.clear()
    second = world.finance_post("/finance/v1/refund-batches", {}).json()
    assert second["count"] == 1
    late_interest = interest_fen(DEPOSIT, value_day, today(world))
    assert second["instructions"][0]["interest_fen"] == late_interest > expected[DEPOSIT]
    with transaction(world.container.sessions) as session:  # as reconciliation would, from a statement line
        settle_instruction(session, second["instructions"][0]["id"], succeeded=True,
                           bank_reference="STMT-1", now=world.clock())  # fmt: skip
    assert world.finance_get("/finance/v1/refunds/due").json() == []
    assert net(book, f"bidder:{bidder(2)[0]}:deposit:{section}") == 0
    assert net(book, f"bidder:{bidder(2)[0]}:interest:{section}") == 0

    # Left on the escrow account: the forfeited deposit, less the interest paid out of it.
    paid_interest = 2 * expected[DEPOSIT] + expected[DEPOSIT - 50_00] + late_interest
    assert net(book, f"center:{CENTER}:interest_expense") == paid_interest
    assert net(book, f"center:{CENTER}:escrow_bank") == DEPOSIT - paid_interest
    with world.container.sessions() as session:
        refunded = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "deposit.refunded")).all()
        assert len(refunded) == 4
        statuses = sorted(session.scalars(select(Deposit.status).where(Deposit.section_code == section)))
        assert statuses == ["forfeited"] + ["refunded"] * 4
    assert book.check().violations == ()
    cli = subprocess.run(
        [sys.executable, "-m", "gateway", "ledger", "check", "--no-progress"],
        cwd=ROOT,
        env={**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_DATA_DIR": str(tmp_path / "cli")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "clean" in cli.stdout


def _deposit_of(world: World, section: str, n: int) -> str:
    with world.container.sessions() as session:
        found = section_events.find_deposit(session, section_code=section, bidder_uscc=bidder(n)[0])
        assert found is not None
        return found.deposit_id


def test_termination_makes_deposits_refundable_at_once(world: World) -> None:
    section = world.add_section()
    assert world.notice(section, 1).json()["outcome"] == "matched"
    with transaction(world.container.sessions) as session:
        section_events.on_section_terminated(session, section, now=world.clock())
    due = world.finance_get("/finance/v1/refunds/due").json()
    assert [(item["deposit"]["status"], item["days_left"]) for item in due] == [("refundable", 5)]
    # Unreachable bank: the instruction stays created, and is sent later.
    world.bank.behaviour.unavailable = True
    batch = world.finance_post("/finance/v1/refund-batches", {}).json()
    assert batch["states"] == {"created": 1}
    world.bank.behaviour.unavailable = False
    resent = world.finance_post(f"/finance/v1/refund-batches/{batch['id']}/send", {})
    assert resent.json()["states"] == {"sent": 1}
    nothing = world.finance_post("/finance/v1/refund-batches", {})
    assert nothing.status_code == 409
    assert nothing.json()["code"] == "nothing_to_refund"
    world.clock.advance(hours=1)
    assert timedelta(hours=1)


def test_interest_is_paid_only_from_funded_escrow(world: World) -> None:
    section = world.add_section()
    assert world.notice(section, 1).json()["outcome"] == "matched"
    with transaction(world.container.sessions) as session:
        section_events.on_contract_signed(session, section, signed_on=today(world), now=world.clock())
    world.clock.advance(days=30)
    # Only the deposit is on the escrow account: its interest has nothing to come from yet.
    short = world.finance_post("/finance/v1/refund-batches", {})
    assert short.status_code == 409, short.text
    assert short.json()["code"] == "escrow_short_of_funds"
    assert (
        world.finance_get("/finance/v1/deposits", status="refundable").json()[0]["interest_accrued_fen"] == 0
    )
    credit = {"bank_reference": "JX-2026Q4", "amount_fen": 1_000_00, "value_date": today(world).isoformat()}
    first = world.finance_post("/finance/v1/escrow-interest-credits", credit)
    assert first.status_code == 201, first.text
    assert world.finance_post("/finance/v1/escrow-interest-credits", credit).json() == first.json()
    changed = world.finance_post("/finance/v1/escrow-interest-credits", {**credit, "amount_fen": 1})
    assert changed.status_code == 409
    assert changed.json()["code"] == "interest_credit_reference_reused"
    batch = world.finance_post("/finance/v1/refund-batches", {})
    assert batch.status_code == 201, batch.text
    assert batch.json()["instructions"][0]["interest_fen"] == interest_fen(
        DEPOSIT, today(world) - timedelta(days=30), today(world)
    )
    transfer = Ledger(world.container.engine).get_transfer(first.json()["transfer_id"])
    assert transfer is not None
    assert transfer.meta["bank_ref"] == "JX-2026Q4"
