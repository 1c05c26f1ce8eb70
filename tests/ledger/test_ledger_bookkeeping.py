"""The gateway's chart of accounts and named postings, written through the ledger."""

from __future__ import annotations

import pytest

from gateway.bookkeeping import accounts as chart
from gateway.bookkeeping import postings
from ledger import AccountFlag, AccountKind, Ledger, LedgerError

USCC = "91330000MA0000000X"
TENDEREE = "12330000MB0000000Y"


def test_chart_codes_kinds_and_constraints() -> None:
    assert chart.center_escrow_bank("C1") == chart.AccountSpec(
        "center:C1:escrow_bank", AccountKind.ASSET, frozenset({AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS})
    )
    assert chart.bidder_deposit(USCC, "S1").code == f"bidder:{USCC}:deposit:S1"
    assert chart.institution_payable("ICBC").kind is AccountKind.LIABILITY
    assert chart.platform_fee_revenue().kind is AccountKind.REVENUE
    assert chart.center_interest_expense("C1").kind is AccountKind.EXPENSE
    with pytest.raises(ValueError, match="account code part"):
        chart.bidder_deposit("a:b", "S1")


def test_deposit_interest_refund_and_forfeit_life(book: Ledger) -> None:
    postings.deposit_received(id="dep-1", center="C1", uscc=USCC, section="S1", amount=500_000_00).write(book)
    postings.interest_accrual(id="int-1", center="C1", uscc=USCC, section="S1", amount=123).write(book)
    # The escrow bank must hold the interest too before it can pay it out.
    postings.deposit_received(id="dep-2", center="C1", uscc="OTHER", section="S1", amount=1_000).write(book)
    refund = postings.refund_instruction(id="ref-1", center="C1", uscc=USCC, section="S1",
                                         deposit=300_000_00, interest=123)  # fmt: skip
    holds = refund.write(book)
    assert [t.id for t in holds] == ["ref-1:deposit", "ref-1:interest"]
    postings.settle(id="ref-1:deposit:ok", hold_id="ref-1:deposit").write(book)
    postings.cancel(id="ref-1:interest:fail", hold_id="ref-1:interest").write(book)
    postings.forfeit(id="ff-1", uscc=USCC, tenderee=TENDEREE, section="S1", amount=200_000_00).write(book)
    with pytest.raises(LedgerError) as refused:  # nothing left to forfeit
        postings.forfeit(id="ff-2", uscc=USCC, tenderee=TENDEREE, section="S1", amount=1).write(book)
    assert refused.value.code == "insufficient_funds"
    assert book.balance(chart.bidder_deposit(USCC, "S1").code).net == 0
    assert book.balance(chart.bidder_interest(USCC, "S1").code).net == 123
    assert book.balance(chart.tenderee_forfeit(TENDEREE, "S1").code).net == 200_000_00
    assert book.balance(chart.center_escrow_bank("C1").code).net == 200_000_00 + 1_000
    assert book.check().clean


def test_premium_hold_settle_with_fee_and_refund(book: Ledger) -> None:
    postings.premium_hold(id="prem-1", institution="ICBC", amount=1_000_00, timeout_s=3600).write(book)
    done = postings.premium_settle(id="prem-1:settle", hold_id="prem-1", institution="ICBC",
                                   premium=1_000_00, fee=100_00).write(book)  # fmt: skip
    assert [t.id for t in done] == ["prem-1:settle:institution", "prem-1:settle:fee"]
    assert book.balance(chart.institution_payable("ICBC").code).net == 900_00
    assert book.balance(chart.platform_fee_revenue().code).net == 100_00
    assert book.balance(chart.platform_premium_clearing().code).net == 1_000_00
    postings.premium_refund(id="pr-1", institution="ICBC", uscc=USCC, amount=900_00).write(book)
    postings.premium_refund_payout(id="pr-1:pay", uscc=USCC, amount=900_00).write(book)
    postings.settle(id="pr-1:pay:ok", hold_id="pr-1:pay").write(book)
    assert book.balance(chart.bidder_premium_refund(USCC).code).net == 0
    assert book.balance(chart.platform_premium_clearing().code).net == 100_00
    assert book.check().clean


def test_premium_settle_refuses_a_fee_not_below_the_premium() -> None:
    with pytest.raises(ValueError, match="fee"):
        postings.premium_settle(id="s", hold_id="h", institution="I", premium=100, fee=100)


def test_postings_commit_with_the_callers_transaction(book: Ledger) -> None:
    with book.engine.connect() as c, c.begin() as tx:
        postings.deposit_received(id="dep-1", center="C1", uscc=USCC, section="S1", amount=5).write(
            book.within(c)
        )
        tx.rollback()
    assert book.get_transfer("dep-1") is None
