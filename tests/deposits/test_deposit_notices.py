"""Deposit notices from the escrow bank: matched by sub-account, or queued as exceptions; never lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.deposits.rules import same_name
from gateway.deposits.tables import Deposit, DepositException, DepositNotice
from gateway.finance.subaccounts import parse_subaccount
from gateway.outbox.tables import OutboxEvent
from ledger import Ledger
from tests.deposits.deposit_factories import BANK, CENTER, DEPOSIT, PREFIX, World, bidder


def book(world: World) -> Ledger:
    return Ledger(world.container.engine)


def balance(world: World, account: str) -> int:
    return book(world).balance(account).net


def test_deposit_account_is_stable_per_bidder_and_section(world: World) -> None:
    section = world.add_section()
    first = world.client.get(f"/v1/sections/{section}/deposit-account", headers=world.bidder_headers(1))
    assert first.status_code == 200, first.text
    data = first.json()
    assert data["amount_due_fen"] == DEPOSIT
    assert data["account_name"] == f"{CENTER} 投标保证金专户"
    assert parse_subaccount(data["subaccount"], PREFIX).prefix == PREFIX
    again = world.client.get(f"/v1/sections/{section}/deposit-account", headers=world.bidder_headers(1))
    assert again.json()["subaccount"] == data["subaccount"]
    other = world.subaccount(section, 2)
    assert other != data["subaccount"]
    assert (
        world.client.get("/v1/sections/NOPE/deposit-account", headers=world.bidder_headers(1)).status_code
        == 404
    )
    finance = world.client.get(f"/v1/sections/{section}/deposit-account", headers=world.finance_headers())
    assert finance.status_code == 403


def test_a_clean_notice_posts_a_deposit_once(world: World) -> None:
    section = world.add_section()
    response = world.notice(section, 1, bank_reference="BR-CLEAN-1")
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["outcome"] == "matched"
    assert out["replayed"] is False
    uscc, _ = bidder(1)
    assert balance(world, f"bidder:{uscc}:deposit:{section}") == DEPOSIT
    assert balance(world, f"center:{CENTER}:escrow_bank") == DEPOSIT
    transfer = book(world).get_transfer(f"{out['notice_id']}:in")
    assert transfer is not None
    assert transfer.meta["bank_ref"] == "BR-CLEAN-1"
    assert set(transfer.meta) >= {"bank_ref", "counterparty_account", "counterparty_name", "value_date"}
    # The same notice again (another Idempotency-Key): the first outcome, nothing posted twice.
    payload = _payload_of(world, out["notice_id"])
    replay = world.bank_post("/bank/v1/deposit-notices", payload)
    assert replay.status_code == 200, replay.text
    assert replay.json()["replayed"] is True
    assert replay.json()["deposit_id"] == out["deposit_id"]
    assert balance(world, f"center:{CENTER}:escrow_bank") == DEPOSIT
    changed = world.bank_post("/bank/v1/deposit-notices", {**payload, "amount_fen": DEPOSIT + 1})
    assert changed.status_code == 409
    assert changed.json()["code"] == "notice_reference_reused"
    with world.container.sessions() as session:
        events = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "deposit.received")).all()
        assert [event.center_code for event in events] == [CENTER]


def _payload_of(world: World, notice_id: str) -> dict[str, Any]:
    with world.container.sessions() as session:
        row = session.get(DepositNotice, notice_id)
        assert row is not None
        return {
            "bank_reference": row.bank_reference,
            "subaccount": row.subaccount,
            "amount_fen": row.amount_fen,
            "payer_name": row.payer_name,
            "payer_account": row.payer_account,
            "value_date": row.value_date.isoformat(),
        }


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown_subaccount", "unknown_subaccount"),
        ("bad_check_digits", "unknown_subaccount"),
        ("wrong_amount", "wrong_amount"),
        ("late", "after_deadline"),
        ("payer_name", "payer_name_mismatch"),
        ("second_deposit", "duplicate_deposit"),
    ],
)
def test_odd_money_goes_to_the_exception_queue_and_stays_on_escrow(
    world: World, case: str, reason: str
) -> None:
    section = world.add_section()
    overrides: dict[str, Any] = {}
    if case == "unknown_subaccount":
        overrides["subaccount"] = _unused_subaccount()
    elif case == "bad_check_digits":
        good = world.subaccount(section, 1)
        overrides["subaccount"] = good[:-2] + ("00" if good[-2:] != "00" else "01")
    elif case == "wrong_amount":
        overrides["amount_fen"] = DEPOSIT - 100
    elif case == "late":
        world.subaccount(section, 1)
        world.clock.advance(days=8)
    elif case == "payer_name":
        overrides["payer_name"] = "另一家公司"
    elif case == "second_deposit":
        assert world.notice(section, 1).json()["outcome"] == "matched"
    response = world.notice(section, 1, **overrides)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["outcome"] == "exception"
    assert out["reason"] == reason
    amount = overrides.get("amount_fen", DEPOSIT)
    assert balance(world, f"center:{CENTER}:deposit_suspense") == amount
    already = DEPOSIT if case == "second_deposit" else 0
    assert balance(world, f"center:{CENTER}:escrow_bank") == amount + already
    queue = world.finance_get("/finance/v1/deposit-exceptions")
    assert [row["reason"] for row in queue.json()] == [reason]
    assert world.finance_get("/finance/v1/deposit-exceptions", center="DEP-OTHER").json() == []


def _unused_subaccount() -> str:
    from gateway.finance.subaccounts import make_subaccount

    return make_subaccount(PREFIX, 99_999_999)


def test_payer_names_match_across_blanks_and_bracket_widths(world: World) -> None:
    section = world.add_section()
    spaced = world.notice(section, 4, payer_name=" " + bidder(4)[1].replace("建设", "建 设") + " ")
    assert spaced.json()["outcome"] == "matched"
    assert same_name("深圳市某（集团）有限公司", "深圳市某(集团)有限公司")
    assert not same_name("深圳市某集团有限公司", "深圳市某(集团)有限公司")
    assert not same_name("任何人", None)


@pytest.mark.parametrize(
    "change",
    [
        {"amount_fen": -100},
        {"amount_fen": 0},
        {"amount_fen": 800.5},
        {"amount_fen": "80000.005"},
        {"amount_fen": "8000000"},
        {"amount_fen": True},
        {"value_date": "2026-13-01"},
        {"bank_reference": ""},
        {"bank_reference": "has space"},
        {"unexpected": 1},
    ],
)
def test_bad_notices_are_refused_with_422_and_change_nothing(world: World, change: dict[str, Any]) -> None:
    section = world.add_section()
    response = world.notice(section, 1, **change)
    assert response.status_code == 422, response.text
    with world.container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DepositNotice)) == 0


def test_unsigned_or_wrong_party_requests_are_refused(world: World) -> None:
    section = world.add_section()
    payload = {"bank_reference": "X1", "subaccount": world.subaccount(section, 1), "amount_fen": DEPOSIT,
               "payer_name": bidder(1)[1], "payer_account": "1", "value_date": "2026-11-02"}  # fmt: skip
    unsigned = world.client.post("/bank/v1/deposit-notices", json=payload, headers={"Idempotency-Key": "u1"})
    assert unsigned.status_code == 401
    as_bidder = world.client.post(
        "/bank/v1/deposit-notices", json=payload, headers={**world.bidder_headers(1), "Idempotency-Key": "u2"}
    )
    assert as_bidder.status_code == 403
    # The other center's bank cannot credit this center's sub-account: to it the number is unknown.
    other = world.bank_post("/bank/v1/deposit-notices", payload, other=True)
    assert other.status_code == 200
    assert other.json()["reason"] == "unknown_subaccount"
    with world.container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Deposit)) == 0
        assert session.scalar(select(DepositException.center_code)) == "DEP-OTHER"
    assert BANK


def test_a_deposit_just_before_the_deadline_counts(world: World) -> None:
    section = world.add_section(deadline_in=timedelta(hours=1))
    world.subaccount(section, 1)
    world.clock.advance(minutes=59)
    assert world.notice(section, 1).json()["outcome"] == "matched"
