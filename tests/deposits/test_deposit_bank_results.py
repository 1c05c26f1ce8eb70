"""Payment results and the bank's answers: refused at sending, polled, bad results."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.db import transaction
from gateway.finance import section_events
from ledger import Ledger
from tests.deposits.deposit_factories import CENTER, DEPOSIT, World


def _refundable(world: World, n: int = 1) -> str:
    section = world.add_section()
    deposit_id: str = world.notice(section, n).json()["deposit_id"]
    world.finance_post(
        "/finance/v1/escrow-interest-credits",
        {"bank_reference": f"JX-{section}", "amount_fen": 10_000_00, "value_date": "2026-11-02"},
    )
    with transaction(world.container.sessions) as session:
        section_events.on_section_terminated(session, section, now=world.clock())
    world.clock.advance(days=3)
    return deposit_id


def test_an_instruction_refused_at_sending_is_voided_at_once(world: World) -> None:
    deposit_id = _refundable(world)
    world.bank.behaviour.reject_accounts.add(f"4000{1:012d}")
    batch = world.finance_post("/finance/v1/refund-batches", {}).json()
    assert batch["states"] == {"failed": 1}
    assert batch["instructions"][0]["failure_reason"] == "rejected (sandbox)"
    assert world.finance_get(f"/finance/v1/deposits/{deposit_id}").json()["status"] == "refundable"
    book = Ledger(world.container.engine)
    assert book.balance(f"center:{CENTER}:escrow_bank").credits_pending == 0
    assert book.check().violations == ()


def test_polling_settles_what_the_bank_reports(world: World) -> None:
    _refundable(world, 1)
    _refundable(world, 2)
    world.bank.behaviour.fail_accounts.add(f"4000{2:012d}")
    batch = world.finance_post("/finance/v1/refund-batches", {}).json()
    assert batch["states"] == {"sent": 2}
    polled = world.finance_post(f"/finance/v1/refund-batches/{batch['id']}/poll", {}).json()
    assert polled["states"] == {"succeeded": 1, "failed": 1}
    failed = [i for i in polled["instructions"] if i["status"] == "failed"]
    assert failed[0]["payee_account"] == f"4000{2:012d}"
    assert Ledger(world.container.engine).check().violations == ()


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"instruction_id": "ri_unknown", "status": "succeeded"}, 404),
        ({"instruction_id": "x", "status": "maybe"}, 422),
        ({"status": "succeeded"}, 422),
    ],
)
def test_bad_payment_results(world: World, payload: dict[str, Any], status: int) -> None:
    assert world.bank_post("/bank/v1/payment-results", payload).status_code == status


def test_payment_results_must_be_signed(world: World) -> None:
    response = world.client.post(
        "/bank/v1/payment-results",
        json={"instruction_id": "x", "status": "succeeded"},
        headers={"Idempotency-Key": "k1"},
    )
    assert response.status_code == 401
    assert DEPOSIT > 0
