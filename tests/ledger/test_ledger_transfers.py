"""Transfers, batches, idempotency, balances and bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger import (
    MAX_AMOUNT,
    AccountFlag,
    AccountNotFound,
    Ledger,
    LedgerError,
    TransferKind,
    TransferSpec,
    tables,
)

if TYPE_CHECKING:
    from tests.ledger.conftest import Clock

BANK = "center:C1:escrow_bank"
DEPOSIT = "bidder:91330000MA0000000X:deposit:S1"
FEE = "platform:fee_revenue"


def footprint(book: Ledger) -> tuple[Any, ...]:
    """Everything a write could change: row counts and every account row."""
    with book.engine.connect() as c:
        counts = tuple(
            c.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (tables.transfers, tables.entries)
        )
        accounts = tuple(
            tuple(r) for r in c.execute(select(tables.accounts).order_by(tables.accounts.c.code))
        )
    return counts, accounts


@pytest.fixture
def opened(book: Ledger) -> Ledger:
    book.create_account(BANK, kind="asset", flags={"credits_must_not_exceed_debits"})
    book.create_account(DEPOSIT, kind="liability", flags={"debits_must_not_exceed_credits"})
    book.create_account(FEE, kind="revenue")
    book.create_account("usd:cash", kind="asset", currency="USD")
    return book


def test_deposit_moves_money_and_keeps_running_balances(opened: Ledger) -> None:
    transfer = opened.transfer(
        id="t-1",
        debit=BANK,
        credit=DEPOSIT,
        amount=500_000_00,
        code="deposit_received",
        meta={"payment": "P1"},
    )
    assert (transfer.kind, transfer.amount, transfer.meta, transfer.replayed) == (
        TransferKind.POSTED, 500_000_00, {"payment": "P1"}, False
    )  # fmt: skip
    bank, deposit = opened.balance(BANK), opened.balance(DEPOSIT)
    assert (bank.debits_posted, bank.net) == (500_000_00, 500_000_00)
    assert (deposit.credits_posted, deposit.net) == (500_000_00, 500_000_00)
    [entry] = opened.entries(DEPOSIT)
    assert (entry.side, entry.posted, entry.balance_before, entry.balance_after) == (
        "C",
        500_000_00,
        0,
        500_000_00,
    )
    assert opened.check().clean


def test_same_id_same_content_returns_the_original_and_changes_nothing(opened: Ledger, clock: Clock) -> None:
    first = opened.transfer(id="t-1", debit=BANK, credit=DEPOSIT, amount=100, code="deposit_received")
    before = footprint(opened)
    clock.advance(60)
    again = opened.transfer(id="t-1", debit=BANK, credit=DEPOSIT, amount=100, code="deposit_received")
    assert again == first
    assert again.replayed
    assert again.created_at == first.created_at
    assert footprint(opened) == before


@pytest.mark.parametrize(
    "change", [{"amount": 101}, {"code": "other"}, {"meta": {"x": 1}}, {"debit": FEE}, {"pending": True}]
)
def test_same_id_different_content_is_refused(opened: Ledger, change: dict[str, Any]) -> None:
    spec: dict[str, Any] = {
        "id": "t-1",
        "debit": BANK,
        "credit": DEPOSIT,
        "amount": 100,
        "code": "deposit_received",
    }
    opened.transfer(**spec)
    before = footprint(opened)
    with pytest.raises(LedgerError) as refused:
        opened.transfer(**{**spec, **change})
    assert refused.value.code == "exists_with_different_content"
    assert footprint(opened) == before


BAD: list[tuple[dict[str, Any], str]] = [
    ({"amount": 0}, "invalid_amount"),
    ({"amount": -5}, "invalid_amount"),
    ({"amount": 1.5}, "invalid_amount"),
    ({"amount": True}, "invalid_amount"),
    ({"amount": MAX_AMOUNT + 1}, "invalid_amount"),
    ({"id": ""}, "invalid_id"),
    ({"id": "has space"}, "invalid_id"),
    ({"id": "x" * 129}, "invalid_id"),
    ({"id": "expired:t"}, "invalid_id"),
    ({"debit": "no:such:account"}, "account_not_found"),
    ({"credit": "usd:cash"}, "currency_mismatch"),
    ({"currency": "USD"}, "currency_mismatch"),
    ({"currency": "cny"}, "invalid_account"),
    ({"credit": BANK}, "accounts_must_be_different"),
    ({"code": "Bad Code"}, "invalid_code"),
    ({"meta": {"rate": 0.5}}, "invalid_meta"),
    ({"meta": ["not", "an", "object"]}, "invalid_meta"),
    ({"timeout_s": 60}, "invalid_timeout"),
    ({"pending": True, "timeout_s": 0}, "invalid_timeout"),
]


@pytest.mark.parametrize(("change", "code"), BAD)
def test_bad_input_is_a_typed_error_and_writes_nothing(
    opened: Ledger, change: dict[str, Any], code: str
) -> None:
    before = footprint(opened)
    spec: dict[str, Any] = {
        "id": "t-1",
        "debit": BANK,
        "credit": DEPOSIT,
        "amount": 100,
        "code": "deposit_received",
    }
    with pytest.raises(LedgerError) as refused:
        opened.transfer(**{**spec, **change})
    assert refused.value.code == code
    assert footprint(opened) == before


def test_constraint_counts_holds_and_breach_is_insufficient_funds(opened: Ledger) -> None:
    opened.transfer(id="in", debit=BANK, credit=DEPOSIT, amount=1_000, code="deposit_received")
    opened.transfer(id="hold", debit=DEPOSIT, credit=BANK, amount=600, code="refund", pending=True)
    before = footprint(opened)
    with pytest.raises(LedgerError) as refused:
        opened.transfer(id="out", debit=DEPOSIT, credit=BANK, amount=401, code="refund")
    assert refused.value.code == "insufficient_funds"
    assert footprint(opened) == before
    opened.transfer(id="out", debit=DEPOSIT, credit=BANK, amount=400, code="refund")
    assert opened.balance(DEPOSIT).net == 600
    assert opened.check().clean


def test_account_totals_beyond_64_bits_are_refused_as_overflow(opened: Ledger) -> None:
    opened.transfer(id="big", debit=BANK, credit=DEPOSIT, amount=10**18 * 9, code="deposit_received")
    with pytest.raises(LedgerError) as refused:
        opened.transfer(id="bigger", debit=BANK, credit=DEPOSIT, amount=10**18, code="deposit_received")
    assert refused.value.code == "overflow"


def test_atomic_batch_is_all_or_nothing(opened: Ledger) -> None:
    batch: list[TransferSpec] = [
        {"id": "b-1", "debit": BANK, "credit": DEPOSIT, "amount": 100, "code": "deposit_received"},
        {"id": "b-2", "debit": DEPOSIT, "credit": BANK, "amount": 100, "code": "refund"},
        {"id": "b-3", "debit": DEPOSIT, "credit": BANK, "amount": 1, "code": "refund"},
    ]
    before = footprint(opened)
    with pytest.raises(LedgerError) as refused:
        opened.submit(batch)
    assert (refused.value.code, refused.value.index) == ("insufficient_funds", 2)
    assert footprint(opened) == before
    done = opened.submit(batch[:2])
    assert [t.id for t in done] == ["b-1", "b-2"]


def test_non_atomic_batch_refuses_items_in_place(opened: Ledger) -> None:
    results = opened.submit(
        [
            {"id": "b-1", "debit": BANK, "credit": DEPOSIT, "amount": 100, "code": "deposit_received"},
            {"id": "b-2", "debit": BANK, "credit": DEPOSIT, "amount": -1, "code": "deposit_received"},
            {"id": "b-3", "debit": DEPOSIT, "credit": BANK, "amount": 101, "code": "refund"},
            {"id": "b-1", "debit": BANK, "credit": DEPOSIT, "amount": 100, "code": "deposit_received"},
            {"id": "b-4", "debit": DEPOSIT, "credit": BANK, "amount": 100, "code": "refund"},
        ],
        atomic=False,
    )
    codes = [r.code if isinstance(r, LedgerError) else r.id for r in results]
    assert codes == ["b-1", "invalid_amount", "insufficient_funds", "b-1", "b-4"]
    assert opened.balance(DEPOSIT).net == 0
    assert opened.check().clean


def test_a_large_batch_leaves_the_garbage_collector_as_it_found_it(opened: Ledger) -> None:
    """Batches of 64+ items pause the cycle collector while they run (`ledger.book._collector_paused`):
    it is on again afterwards, after a refusal too, and an application that runs with it off keeps
    it off."""
    import gc

    def batch(prefix: str, last_amount: int) -> list[TransferSpec]:
        items: list[TransferSpec] = [
            {"id": f"{prefix}-{i}", "debit": BANK, "credit": DEPOSIT, "amount": 1, "code": "deposit_received"}
            for i in range(70)
        ]
        items.append({"id": f"{prefix}-out", "debit": DEPOSIT, "credit": BANK, "amount": last_amount,
                      "code": "refund"})  # fmt: skip
        return items

    assert gc.isenabled()
    assert len(opened.submit(batch("a", 70))) == 71
    assert gc.isenabled()
    with pytest.raises(LedgerError):
        opened.submit(batch("b", 1_000))
    assert gc.isenabled()
    gc.disable()
    try:
        assert len(opened.submit(batch("c", 70))) == 71
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert opened.balance(DEPOSIT).net == 0
    assert opened.check().clean


def test_balance_as_of_and_entries_paging(opened: Ledger, clock: Clock) -> None:
    start = clock.now
    for i in range(5):
        clock.advance(60)
        opened.transfer(id=f"t-{i}", debit=BANK, credit=DEPOSIT, amount=100, code="deposit_received")
    assert opened.balance(DEPOSIT, as_of=start).net == 0
    assert opened.balance(DEPOSIT, as_of=start.replace(minute=2)).net == 200
    page1 = opened.entries(DEPOSIT, limit=2)
    page2 = opened.entries(DEPOSIT, after=page1[-1].seq, limit=2)
    page3 = opened.entries(DEPOSIT, after=page2[-1].seq, limit=2)
    assert [e.transfer_id for e in page1 + page2 + page3] == [f"t-{i}" for i in range(5)]
    assert [e.balance_after for e in page1 + page2 + page3] == [100, 200, 300, 400, 500]


def test_accounts_are_idempotent_and_immutable(opened: Ledger, database_url: str) -> None:
    assert (
        opened.create_account(BANK, kind="asset", flags={AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS}).code
        == BANK
    )
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"kind": "liability", "flags": {"credits_must_not_exceed_debits"}},
         "account_exists_with_different_content"),
        ({"kind": "asset"}, "account_exists_with_different_content"),
        ({"kind": "cash"}, "invalid_account"),
        ({"kind": "asset", "flags": {"debits_must_not_exceed_credits", "credits_must_not_exceed_debits"}},
         "invalid_account"),
    ]  # fmt: skip
    for kwargs, code in refusals:
        with pytest.raises(LedgerError) as refused:
            opened.create_account(BANK, **kwargs)
        assert refused.value.code == code
    with pytest.raises(LedgerError) as missing:
        opened.balance("nobody")
    assert missing.value.code == "account_not_found"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_accounts SET kind = 'liability'",
        "UPDATE ledger_accounts SET code = 'x'",
        "DELETE FROM ledger_accounts",
        "UPDATE ledger_transfers SET amount = 1",
        "DELETE FROM ledger_transfers",
        "UPDATE ledger_entries SET posted = 1",
        "DELETE FROM ledger_entries",
    ],
)
def test_database_refuses_edits_and_deletes(opened: Ledger, statement: str) -> None:
    opened.transfer(id="t-1", debit=BANK, credit=DEPOSIT, amount=100, code="deposit_received")
    with pytest.raises(DBAPIError), opened.engine.begin() as c:
        c.execute(text(statement))
    assert opened.check().clean


@pytest.mark.parametrize(
    "change",
    [
        "id = id + 100",
        "code = 'platform:other'",
        "kind = 'expense'",
        "currency = 'USD'",
        "debits_must_not_exceed_credits = NOT debits_must_not_exceed_credits",
        "credits_must_not_exceed_debits = NOT credits_must_not_exceed_debits",
        "created_at = '2020-01-01 00:00:00'",
        # Named beside the totals the ledger updates: the trigger runs for any UPDATE naming one (0015).
        "debits_posted = debits_posted + 1, entry_seq = entry_seq, kind = 'expense'",
    ],
)
def test_the_identity_trigger_refuses_every_identity_column(opened: Ledger, change: str) -> None:
    """On an account without entries or transfers, so no key or constraint but the trigger objects."""
    with pytest.raises(DBAPIError) as refused, opened.engine.begin() as c:
        c.execute(text(f"UPDATE ledger_accounts SET {change} WHERE code = '{FEE}'"))
    assert "identity is immutable" in str(refused.value)
    with opened.engine.begin() as c:  # the totals alone, as the ledger writes them
        c.execute(
            text(f"UPDATE ledger_accounts SET debits_posted = 0, head_hash = head_hash WHERE code = '{FEE}'")
        )
    assert opened.check().clean


def test_writes_inside_the_callers_transaction_commit_or_roll_back_with_it(opened: Ledger) -> None:
    with opened.engine.connect() as c:
        with c.begin() as outer:
            opened.within(c).transfer(
                id="rolled", debit=BANK, credit=DEPOSIT, amount=100, code="deposit_received"
            )
            outer.rollback()
        with c.begin():
            inside = opened.within(c)
            inside.transfer(id="kept", debit=BANK, credit=DEPOSIT, amount=100, code="deposit_received")
            # A refusal leaves the caller's transaction usable: the next write still goes in.
            with pytest.raises(LedgerError):
                inside.transfer(id="bad", debit=DEPOSIT, credit=BANK, amount=10_000, code="refund")
            inside.transfer(id="kept-2", debit=DEPOSIT, credit=BANK, amount=50, code="refund")
            assert inside.balance(DEPOSIT).net == 50
    assert opened.get_transfer("rolled") is None
    assert opened.get_transfer("kept") is not None
    assert opened.get_transfer("bad") is None
    assert opened.balance(DEPOSIT).net == 50
    assert opened.check().clean


def test_without_a_savepoint_a_refusal_writes_nothing_and_the_transaction_goes_on(opened: Ledger) -> None:
    """`within(c, savepoint=False)`: no SAVEPOINT statement at all, and a refused batch (a balance
    limit, an unknown account) raises before it writes, so the caller's transaction stays usable."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(opened.engine, "before_cursor_execute", record)
    try:
        with opened.engine.connect() as c, c.begin():
            inside = opened.within(c, savepoint=False)
            inside.transfer(id="bare-1", debit=BANK, credit=DEPOSIT, amount=100, code="deposit_received")
            with pytest.raises(LedgerError):
                inside.transfer(id="bare-bad", debit=DEPOSIT, credit=BANK, amount=10_000, code="refund")
            with pytest.raises(AccountNotFound):
                inside.transfer(id="bare-bad-2", debit="nobody", credit=BANK, amount=1, code="refund")
            inside.transfer(id="bare-2", debit=DEPOSIT, credit=BANK, amount=40, code="refund")
    finally:
        event.remove(opened.engine, "before_cursor_execute", record)
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    assert opened.get_transfer("bare-1") is not None
    assert opened.get_transfer("bare-2") is not None
    assert opened.get_transfer("bare-bad") is None
    assert opened.get_transfer("bare-bad-2") is None
    assert opened.balance(DEPOSIT).net == 60
    assert opened.check().clean


def test_writes_inside_an_orm_session_commit_with_it(opened: Ledger) -> None:
    with Session(opened.engine) as session, session.begin():
        opened.within(session.connection()).transfer(
            id="s-1", debit=BANK, credit=DEPOSIT, amount=7, code="deposit_received"
        )
    assert opened.balance(BANK).net == 7
