"""Tampering with raw SQL (after switching the immutability triggers off, as only a DBA could) is
caught by check(); `gateway ledger check` exits 1 then."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from gateway.cli import main
from ledger import Ledger

BANK = "center:C1:escrow_bank"
DEPOSIT = "bidder:X:deposit:S1"


def _without_triggers(c: Connection, table: str) -> None:
    if c.dialect.name == "postgresql":
        c.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for name in c.execute(
            text(f"SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='{table}'")
        ):
            c.execute(text(f"DROP TRIGGER {name[0]}"))


@pytest.fixture
def busy(book: Ledger) -> Iterator[Ledger]:
    book.create_account(BANK, kind="asset", flags={"credits_must_not_exceed_debits"})
    book.create_account(DEPOSIT, kind="liability", flags={"debits_must_not_exceed_credits"})
    for i in range(5):
        book.transfer(id=f"t-{i}", debit=BANK, credit=DEPOSIT, amount=100 + i, code="deposit_received")
    book.transfer(id="h", debit=DEPOSIT, credit=BANK, amount=50, code="refund", pending=True)
    book.post_pending(id="p", pending_id="h", amount=20)
    assert book.check().clean
    yield book
    if book.engine.dialect.name == "postgresql":  # the PostgreSQL database is shared by the session
        with book.engine.begin() as c:
            for table in ("ledger_entries", "ledger_transfers"):
                c.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _codes(book: Ledger) -> set[str]:
    return {v.code for v in book.check().violations}


def test_changing_one_entry_amount_is_reported(busy: Ledger) -> None:
    with busy.engine.begin() as c:
        _without_triggers(c, "ledger_entries")
        c.execute(
            text("UPDATE ledger_entries SET posted = posted + 1 WHERE transfer_id = 't-2' AND side = 'C'")
        )
    assert {"entry_hash_mismatch", "entry_balance_mismatch", "account_totals_mismatch",
            "transfer_entries_mismatch", "ledger_unbalanced"} <= _codes(busy)  # fmt: skip


def test_changing_a_transfer_is_reported(busy: Ledger) -> None:
    with busy.engine.begin() as c:
        _without_triggers(c, "ledger_transfers")
        c.execute(text("UPDATE ledger_transfers SET meta = :meta WHERE id = 't-1'"), {"meta": '{"x":1}'})
    assert "transfer_hash_mismatch" in _codes(busy)


def test_deleting_the_last_entry_breaks_the_stored_head(busy: Ledger) -> None:
    with busy.engine.begin() as c:
        _without_triggers(c, "ledger_entries")
        c.execute(text("DELETE FROM ledger_entries WHERE transfer_id = 'p'"))
    assert {"chain_head_mismatch", "account_totals_mismatch", "transfer_entries_mismatch"} <= _codes(busy)


def test_changing_a_stored_balance_is_reported(busy: Ledger) -> None:
    with busy.engine.begin() as c:
        c.execute(
            text(f"UPDATE ledger_accounts SET credits_posted = credits_posted + 5 WHERE code = '{DEPOSIT}'")
        )
    assert _codes(busy) == {"account_totals_mismatch"}


def test_cli_check_exits_1_on_a_violation_and_0_when_clean(
    busy: Ledger, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", database_url)
    clean = CliRunner().invoke(main, ["ledger", "check", "--no-progress"])
    assert clean.exit_code == 0, clean.output
    assert "ledger check: 2 accounts, 7 transfers, 14 entries, clean" in clean.output
    with busy.engine.begin() as c:
        _without_triggers(c, "ledger_entries")
        c.execute(text("UPDATE ledger_entries SET posted = 999 WHERE transfer_id = 't-0' AND side = 'D'"))
    broken = CliRunner().invoke(main, ["ledger", "check", "--progress"])
    assert broken.exit_code == 1, broken.output
    assert "violation entry_hash_mismatch" in broken.output


def test_cli_check_exits_2_without_a_usable_database(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "mysql://nowhere/x")
    assert CliRunner().invoke(main, ["ledger", "check"]).exit_code == 2
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    result = CliRunner().invoke(main, ["ledger", "check"])
    assert result.exit_code == 2
    assert "no ledger tables" in result.output


# ---------------------------------------------------------------- hash version 2 beside version 3


@pytest.fixture
def mixed(book: Ledger, stored_book: Callable[[Ledger, str], None]) -> Iterator[Ledger]:
    """A book written by the previous ledger (hash version 2), continued by this one (version-3 nodes)."""
    stored_book(book, "fingerprint_v3")
    book.transfer(id="n-1", debit="bank", credit="deposit", amount=30, code="deposit")
    book.transfer(id="n-2", debit="deposit", credit="bank", amount=10, code="refund", meta={"k": "v"})
    assert book.check().clean
    yield book
    if book.engine.dialect.name == "postgresql":
        with book.engine.begin() as c:
            for table in ("ledger_entries", "ledger_transfers"):
                c.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _violations(book: Ledger) -> set[tuple[str, str | None]]:
    return {(v.code, v.transfer_id) for v in book.check().violations}


def _hashes(book: Ledger, transfer_id: str) -> set[str]:
    query = text(
        "SELECT hash FROM ledger_transfers WHERE id = :t UNION ALL "
        "SELECT hash FROM ledger_entries WHERE transfer_id = :t"
    )
    with book.engine.connect() as c:
        return set(c.execute(query, {"t": transfer_id}).scalars())


def test_old_rows_keep_their_own_hashes_and_new_rows_share_a_node_hash(mixed: Ledger) -> None:
    assert len(_hashes(mixed, "t-1")) == 3
    assert len(_hashes(mixed, "n-1")) == 1


def test_an_old_entry_changed_is_reported_on_that_entry(mixed: Ledger) -> None:
    with mixed.engine.begin() as c:
        _without_triggers(c, "ledger_entries")
        c.execute(text("UPDATE ledger_entries SET created_at = :t WHERE transfer_id = 'h-1' AND side = 'D'"),
                  {"t": datetime(2026, 3, 1, 9, 0, 1, tzinfo=UTC)})  # fmt: skip
    assert _violations(mixed) == {("entry_hash_mismatch", "h-1")}


def test_an_old_entry_claiming_its_transfers_hash_is_reported(mixed: Ledger) -> None:
    """Giving an old entry its transfer's hash makes it claim a version-3 node: that node must verify."""
    with mixed.engine.begin() as c:
        _without_triggers(c, "ledger_entries")
        c.execute(text("UPDATE ledger_entries SET hash = (SELECT hash FROM ledger_transfers WHERE "
                       "id = 't-1') WHERE transfer_id = 't-1' AND side = 'C'"))  # fmt: skip
    found = _violations(mixed)
    assert ("transfer_hash_mismatch", "t-1") in found
    assert ("entry_hash_mismatch", "t-1") in found


@pytest.mark.parametrize(
    ("table", "change"),
    [
        ("ledger_transfers", "SET code = 'other' WHERE id = 'n-2'"),
        ("ledger_transfers", "SET meta = '{\"k\":\"w\"}' WHERE id = 'n-2'"),
        ("ledger_entries", "SET balance_after = balance_after + 1 WHERE transfer_id = 'n-2' AND side = 'C'"),
        ("ledger_entries", "SET account_seq = account_seq + 100 WHERE transfer_id = 'n-2' AND side = 'D'"),
        ("ledger_entries", "SET prev_hash = hash WHERE transfer_id = 'n-2' AND side = 'D'"),
        ("ledger_entries", "SET hash = prev_hash WHERE transfer_id = 'n-2' AND side = 'C'"),
    ],
)
def test_any_change_to_a_node_is_reported_on_its_transfer_and_entries(
    mixed: Ledger, table: str, change: str
) -> None:
    with mixed.engine.begin() as c:
        _without_triggers(c, table)
        c.execute(text(f"UPDATE {table} {change}"))
    found = _violations(mixed)
    assert ("transfer_hash_mismatch", "n-2") in found
    assert ("entry_hash_mismatch", "n-2") in found
    assert not {transfer for _, transfer in found} & {"t-1", "h-1", "p-1", "n-1"}
