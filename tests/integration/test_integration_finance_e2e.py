"""Issue #8's end to end over the real APIs: deposits arrive from the escrow bank (some odd), the
center awards and signs through its signed API, finance sends a refund batch, and the bank's statement
(CSV, CAMT.053 and MT940, written as the bank would) comes back with one refund returned and one
unknown credit. Reconciliation posts the paid refunds, voids the returned one and flags exactly the
unknown credit; the deposits side follows (refunded / refundable again); `gateway ledger check`, run as
a subprocess, is clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.deposits.tables import Deposit, DepositNotice, RefundInstruction
from gateway.finance.subaccounts import make_subaccount
from gateway.reconciliation.tables import StatementLineRow
from tests.deposits.deposit_factories import DEPOSIT, PREFIX, YUAN, World, bidder
from tests.integration.integration_parts import center_of
from tests.reconciliation.recon_factories import WRITERS, Row

ROOT = Path(__file__).resolve().parents[2]
ESCROW = f"7551{PREFIX}000001"  # the world's escrow account of the center
SHORT_FEN = DEPOSIT - 500 * YUAN


def payer(n: int) -> str:
    return f"4000{n:012d}"  # the account the world's notices come from (and refunds go back to)


@pytest.mark.parametrize("fmt", ["csv", "camt053", "mt940"])
def test_deposits_award_refunds_statement_reconciled_and_ledger_clean(
    world: World, database_url: str, tmp_path: Path, fmt: str
) -> None:
    center = center_of(world)
    section = center.put_section()
    day = world.clock().date()

    # Deposits: three clean, one short (assigned by hand), one to a sub-account nobody was given.
    notices: dict[int, dict[str, Any]] = {}
    for n in (1, 2, 3):
        notices[n] = world.notice(section, n).json()
        assert notices[n]["outcome"] == "matched"
    notices[4] = world.notice(section, 4, amount_fen=SHORT_FEN).json()
    notices[5] = world.notice(section, 5, subaccount=make_subaccount(PREFIX, 55_555_555)).json()
    assert (notices[4]["reason"], notices[5]["reason"]) == ("wrong_amount", "unknown_subaccount")
    assigned = world.finance_post(
        f"/finance/v1/deposit-exceptions/{notices[4]['exception_id']}/assign",
        {"section_code": section, "bidder_uscc": bidder(4)[0], "note": "少付手续费，已电话确认"},
    )
    assert assigned.status_code == 200, assigned.text

    # Opening, award and contract through the center's signed API.
    results = center.check(section, [1, 2, 3, 4, 5], lock=True)
    assert [(r["valid"], r["reasons"]) for r in results] == [
        (True, []),
        (True, []),
        (True, []),
        (False, ["amount_short"]),
        (False, ["not_found"]),
    ]
    world.clock.advance(days=8)
    center.event(section, {"type": "awarded", "winner_uscc": bidder(1)[0]})
    center.event(section, {"type": "contract_signed", "signed_on": world.clock().date().isoformat()})

    # Refunds go out as one batch (pending on the ledger until the bank's statement says).
    world.clock.advance(days=1)
    refund_day = world.clock().date()
    created = world.finance_post("/finance/v1/refund-batches", {})
    assert created.status_code == 201, created.text
    instructions = {i["payee_account"]: i for i in created.json()["instructions"]}
    assert sorted(instructions) == [payer(n) for n in (1, 2, 3, 4)]
    failing = instructions[payer(2)]

    # The bank's statement: the money in, the refunds out, bidder 2's refund sent back (closed
    # account), and a credit nobody can explain.
    rows = [
        Row(SHORT_FEN if n == 4 else DEPOSIT, True, day, reference_of(world, notices[n]), party=payer(n))
        for n in (1, 2, 3, 4, 5)
    ]
    for n, account in enumerate(sorted(instructions), start=1):
        instruction = instructions[account]
        rows.append(
            Row(instruction["amount_fen"], False, refund_day, f"BANK-RF{n}", customer_ref=instruction["id"],
                party=account)
        )  # fmt: skip
    rows.append(
        Row(failing["amount_fen"], True, refund_day, "BANK-RET1", customer_ref=failing["id"], party=payer(2),
            reversal=True)
    )  # fmt: skip
    rows.append(Row(777, True, refund_day, "BANK-UNKNOWN", party="6222999999999999"))
    upload = world.client.post(
        "/finance/v1/statements",
        params={"format": fmt, "filename": f"statement.{fmt}"},
        content=WRITERS[fmt](rows, ESCROW),
        headers={**world.finance_headers(), "Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 201, upload.text
    run = upload.json()["run"]
    assert (run["unmatched_lines"], run["unmatched_lines_fen"]) == (1, 777)
    assert run["unmatched_items"] == 0
    assert run["refunds_voided"] >= 1
    assert run["refunds_posted"] >= 3

    with world.container.sessions() as session:
        states = {
            row.payee_account: row.status
            for row in session.scalars(select(RefundInstruction).where(RefundInstruction.kind == "refund"))
        }
        deposits = {row.bidder_uscc: row.status for row in session.scalars(select(Deposit))}
        open_lines = session.scalars(
            select(StatementLineRow.bank_reference).where(StatementLineRow.status == "open")
        ).all()
    assert states == {
        payer(1): "succeeded",
        payer(2): "failed",
        payer(3): "succeeded",
        payer(4): "succeeded",
    }
    assert deposits == {
        bidder(1)[0]: "refunded",
        bidder(2)[0]: "refundable",  # a later batch tries again
        bidder(3)[0]: "refunded",
        bidder(4)[0]: "refunded",
    }
    assert list(open_lines) == ["BANK-UNKNOWN"]

    # The same statement again matches nothing twice.
    again = world.client.post(
        "/finance/v1/statements",
        params={"format": fmt},
        content=WRITERS[fmt](rows, ESCROW),
        headers={**world.finance_headers(), "Content-Type": "application/octet-stream"},
    )
    assert again.status_code == 201, again.text
    assert (again.json()["lines_new"], again.json()["run"]["matches"]) == (0, 0)

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


def reference_of(world: World, notice: dict[str, Any]) -> str:
    """The bank reference the escrow bank gave the notice (what its statement line carries)."""
    with world.container.sessions() as session:
        row = session.get(DepositNotice, notice["notice_id"])
        assert row is not None
        return str(row.bank_reference)
