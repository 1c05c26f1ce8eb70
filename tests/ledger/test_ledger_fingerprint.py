"""Request fingerprint version 3 (ledger/hashing.py): idempotent replays decide exactly as version 2
did, rows written with version-2 fingerprints keep verifying and replaying, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ledger import Ledger, LedgerError, Transfer, hashing, open_ledger, posting
from ledger.model import AccountKind, TransferKind
from ledger.posting import AccountState, Request, State, TransferRow

START = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)


def v2_fingerprint(request: Request) -> str:
    """The fingerprint the ledger stored before version 3 (an SM3 digest of the request's fields)."""
    return hashing.request_hash(
        action=request.action, id=request.id, debit=request.debit, credit=request.credit,
        amount=request.amount, code=request.code, currency=request.currency, pending=request.pending,
        timeout_s=request.timeout_s, target=request.target_id,
    )  # fmt: skip


# ---------------------------------------------------------------- same decisions as version 2


def _state() -> State:
    accounts = {
        code: AccountState(i, code, kind, currency, False, False, 10_000, 10_000, 0, 0, 0, hashing.GENESIS)
        for i, (code, kind, currency) in enumerate(
            [("a", AccountKind.ASSET, "CNY"), ("b", AccountKind.LIABILITY, "CNY"),
             ("c", AccountKind.ASSET, "CNY"), ("u", AccountKind.ASSET, "USD")]
        )
    }  # fmt: skip
    hold = TransferRow("h", TransferKind.PENDING, "a", "b", 100, "CNY", "hold", "{}", None, None,
                       START + timedelta(hours=1), START, "R3|~|1|1|", "0" * 64)  # fmt: skip
    original = TransferRow("o", TransferKind.POSTED, "a", "b", 70, "CNY", "pay", "{}", None, None,
                           None, START, "R3|~|1|1|", "0" * 64)  # fmt: skip
    return State(accounts=accounts, transfers={"h": hold, "o": original}, resolutions={}, reversals={})


def _maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *values])


_transfers = st.fixed_dictionaries(
    {"debit": st.sampled_from(["a", "c"]), "credit": st.sampled_from(["b", "c"]),
     "amount": st.sampled_from([1, 2]), "code": st.sampled_from(["pay", "fee"])},
    optional={"currency": _maybe(["CNY"]), "pending": st.booleans(), "timeout_s": _maybe([5, 3600]),
              "meta": _maybe([{"k": 1}])},
)  # fmt: skip
_resolutions = st.fixed_dictionaries(
    {"pending_id": st.just("h")},
    optional={"amount": _maybe([100, 40]), "code": _maybe(["hold", "other"]), "void": st.booleans(),
              "currency": _maybe(["CNY"])},
)  # fmt: skip
_reversals = st.fixed_dictionaries(
    {"original_id": st.just("o")},
    optional={"code": _maybe(["reversal", "other"]), "currency": _maybe(["CNY"])},
)
specs = st.one_of(_transfers, _resolutions, _reversals)


def _parsed(spec: dict[str, Any]) -> Request | None:
    try:
        return posting.parse({"id": "x", **spec}, 0)
    except LedgerError:
        return None


@settings(max_examples=400, deadline=None)
@given(first=specs, second=specs)
def test_a_replay_is_recognised_exactly_as_version_2_recognised_it(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    one, two = _parsed(first), _parsed(second)
    if one is None or two is None:
        return
    state = _state()
    [result] = posting.plan([one], state, now=START + timedelta(seconds=1), atomic=False).results
    if isinstance(result, LedgerError):
        return
    row = state.transfers["x"]
    assert row.request_hash == one.request_hash
    assert row.request_hash.startswith(hashing.REQUEST_V3)
    same_in_v2 = v2_fingerprint(one) == v2_fingerprint(two)
    assert posting.same_request(row, two) is same_in_v2
    # And the whole decision, with meta: a replay changes nothing, anything else is refused.
    [again] = posting.plan([two], state, now=START + timedelta(seconds=2), atomic=False).results
    if same_in_v2 and one.meta == two.meta:
        assert not isinstance(again, LedgerError)
        assert again.replayed
    else:
        assert isinstance(again, LedgerError)
        assert again.code == "exists_with_different_content"


def test_the_version_3_text_names_only_what_the_row_does_not_show() -> None:
    seen = {
        hashing.request_descriptor(currency, code, amount)
        for currency in (None, "CNY", "USD")
        for code in (False, True)
        for amount in (False, True)
    }
    assert len(seen) == 12
    assert hashing.request_descriptor("CNY", True, False) == "R3|3:CNY|1|0|"
    assert all(len(text) <= 64 for text in seen)  # the column is String(64)


# ---------------------------------------------------------------- version-2 rows stay valid

# Written by the ledger before version 3 (commit 3bc1450) for `_scenario`, on SQLite: the transfer
# hashes and the accounts' chain heads. The stored book ``fingerprint_v2`` (hash_v2_books.json) is
# those rows; the test checks it against these values.
V2_HASHES = {
    "t-1": "01b92578d0380d3471cff62ea33118fcb867a28eeabfd0880ef029ea7b83a735",
    "h-1": "62be2956b364f14775c6f9a0360a9d951e31f99ba0bad603b95203f190a91b42",
    "p-1": "275fe460d8e718fbd86115937898b49f17fc6299a1b907d8e1b497c20ed9995c",
    "h-2": "49051ea5e058bd486e9a8b28c3d36950977fd0d0b7fbd7512f2109712010d140",
    "h-3": "fbea1444a857a42a674d3fcc702e704bfe9951ca7eb4e6f371070bf5c53ea602",
    "v-1": "41098edfe55e9e28a990a8c0afaf6b6e06a3a26542b3e57b08216fe8eb156568",
    "r-1": "22aeb03a6b56d7df0d54d334b61b6c395698313c37925f2c6bbfdc0217764ee5",
    "expired:h-2": "09234ea30d8f04d020e79476e486a53bc0052509feb3670a25b53a2e6246544a",
}
V2_HEADS = {
    "bank": (8, "0ad7639fd2558a0e24f00de55762bb05e0021d8e65f5cfc52d98b312a89be9ef"),
    "deposit": (8, "1c1e25ad7140dde3d53815af84a2d3192f32f1bf163d1a4e73d565125bfa16d7"),
}


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(database_url: str) -> Iterator[tuple[Ledger, _Clock]]:
    clock = _Clock()
    book = open_ledger(database_url, clock=clock)
    yield book, clock
    book.engine.dispose()


def _scenario(book: Ledger, clock: _Clock) -> None:
    book.create_account("bank", kind="asset")
    book.create_account("deposit", kind="liability", flags={"debits_must_not_exceed_credits"})
    book.transfer(id="t-1", debit="bank", credit="deposit", amount=500, code="deposit", meta={"p": "P1"})
    book.transfer(id="h-1", debit="deposit", credit="bank", amount=300, code="refund", pending=True,
                  timeout_s=60, currency="CNY")  # fmt: skip
    book.post_pending(id="p-1", pending_id="h-1", amount=100)
    book.transfer(id="h-2", debit="deposit", credit="bank", amount=50, code="refund", pending=True,
                  timeout_s=10)  # fmt: skip
    book.transfer(id="h-3", debit="deposit", credit="bank", amount=20, code="refund", pending=True)
    book.void_pending(id="v-1", pending_id="h-3", code="cancelled")
    book.reverse(id="r-1", original_id="p-1")
    clock.now += timedelta(seconds=30)
    book.expire_pending(clock.now)


def _stored(book: Ledger) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[int, str]]]:
    with book.engine.connect() as c:
        rows = c.execute(text("SELECT id, request_hash, hash FROM ledger_transfers"))
        transfers = {r[0]: (r[1], r[2]) for r in rows}
        rows = c.execute(text("SELECT code, entry_seq, head_hash FROM ledger_accounts"))
        heads = {r[0]: (r[1], r[2]) for r in rows}
    return transfers, heads


def test_version_2_rows_keep_verifying_and_replaying(
    clocked: tuple[Ledger, _Clock], stored_book: Callable[[Ledger, str], None]
) -> None:
    book, clock = clocked
    # Exactly what the ledger wrote before version 3 (SM3 fingerprints, hash version 2), stored rows.
    stored_book(book, "fingerprint_v2")
    clock.now = START + timedelta(seconds=30)
    transfers, heads = _stored(book)
    assert {tid: digest for tid, (_, digest) in transfers.items()} == V2_HASHES
    assert heads == V2_HEADS
    assert not any(fingerprint.startswith(hashing.REQUEST_V3) for fingerprint, _ in transfers.values())
    assert book.check().clean

    # Replays against version-2 rows: the same request is recognised, a different one refused.
    clock.now += timedelta(seconds=5)
    same: list[Callable[[], Transfer]] = [
        lambda: book.transfer(id="t-1", debit="bank", credit="deposit", amount=500, code="deposit",
                              meta={"p": "P1"}),
        lambda: book.transfer(id="h-1", debit="deposit", credit="bank", amount=300, code="refund",
                              pending=True, timeout_s=60, currency="CNY"),
        lambda: book.post_pending(id="p-1", pending_id="h-1", amount=100),
        lambda: book.void_pending(id="v-1", pending_id="h-3", code="cancelled"),
        lambda: book.reverse(id="r-1", original_id="p-1"),
    ]  # fmt: skip
    for call in same:
        assert call().replayed
    different: list[Callable[[], Transfer]] = [
        lambda: book.transfer(id="t-1", debit="bank", credit="deposit", amount=500, code="deposit"),
        lambda: book.transfer(id="h-1", debit="deposit", credit="bank", amount=300, code="refund",
                              pending=True, timeout_s=60),
        lambda: book.transfer(id="h-1", debit="deposit", credit="bank", amount=300, code="refund",
                              pending=True, timeout_s=61, currency="CNY"),
        lambda: book.post_pending(id="p-1", pending_id="h-1"),
        lambda: book.void_pending(id="v-1", pending_id="h-3"),
        lambda: book.reverse(id="r-1", original_id="p-1", code="reversal"),
    ]  # fmt: skip
    for call in different:
        with pytest.raises(LedgerError) as refused:
            call()
        assert refused.value.code == "exists_with_different_content"
    assert _stored(book) == (transfers, heads)

    # New rows (version 3) chain on from the version-2 heads; the mixed ledger verifies.
    book.transfer(id="t-2", debit="bank", credit="deposit", amount=7, code="deposit")
    assert _stored(book)[0]["t-2"][0] == "R3|~|1|1|"
    assert book.transfer(id="t-2", debit="bank", credit="deposit", amount=7, code="deposit").replayed
    assert book.check().clean

    # The fingerprint of either version is covered by the transfer hash (triggers off, as a DBA could).
    postgresql = book.engine.dialect.name == "postgresql"
    try:
        with book.engine.begin() as c:
            if postgresql:
                c.execute(text("ALTER TABLE ledger_transfers DISABLE TRIGGER USER"))
            else:
                c.execute(text("DROP TRIGGER ledger_transfers_no_update"))
            c.execute(
                text("UPDATE ledger_transfers SET request_hash = 'R3|~|0|1|' WHERE id IN ('t-1', 't-2')")
            )
    finally:
        if postgresql:  # the PostgreSQL database is shared by the session
            with book.engine.begin() as c:
                c.execute(text("ALTER TABLE ledger_transfers ENABLE TRIGGER USER"))
    mismatched = {v.transfer_id for v in book.check().violations if v.code == "transfer_hash_mismatch"}
    assert mismatched == {"t-1", "t-2"}


def test_the_scenario_written_now_is_version_3_throughout(clocked: tuple[Ledger, _Clock]) -> None:
    """The same scenario written by this ledger: version-3 fingerprints and version-3 node hashes (each
    transfer's hash carried by both of its entries), verified by `check()` and replayed."""
    book, clock = clocked
    _scenario(book, clock)
    transfers, _ = _stored(book)
    assert all(fingerprint.startswith(hashing.REQUEST_V3) for fingerprint, _ in transfers.values())
    with book.engine.connect() as c:
        entries = c.execute(text("SELECT transfer_id, hash FROM ledger_entries")).all()
    assert len(entries) == 2 * len(transfers)
    assert all(digest == transfers[transfer_id][1] for transfer_id, digest in entries)
    assert book.check().clean
    assert book.post_pending(id="p-1", pending_id="h-1", amount=100).replayed
    assert set(_stored(book)[0]) == set(transfers)
