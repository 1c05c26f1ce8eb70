"""The hash encodings (version 2, and the version-3 node hash; documented in ledger/hashing.py) and the
driver-level write path."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ledger import Ledger, Transfer, TransferSpec, hashing, open_ledger

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _reference_sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def test_sm3_matches_the_reference_on_either_implementation() -> None:
    for data in (b"", b"abc", "账户|1:x".encode(), bytes(range(256)) * 3):
        assert hashing.sm3_hex(data) == _reference_sm3(data)
        assert hashing._cryptography_sm3(data) == _reference_sm3(data)
    # GB/T 32905 example 1.
    assert hashing.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    if "sm3" in hashlib.algorithms_available:
        assert hashing._hashlib_sm3() is not None


def test_transfer_hash_is_sm3_of_the_documented_preimage() -> None:
    digest = hashing.transfer_hash(
        id="t-1", kind="posted", debit_account="bank", credit_account="存款|1:x", amount=500,
        currency="CNY", code="deposit", meta='{"a":1}', pending_id=None, reverses_id=None,
        timeout_at=None, created_at=NOW, request_hash="ab",
    )  # fmt: skip
    micros = int(NOW.timestamp()) * 1_000_000
    preimage = f'T2|3:t-1|6:posted|4:bank|6:存款|1:x|500|3:CNY|7:deposit|7:{{"a":1}}|~|~|~|{micros}|2:ab|'
    assert digest == _reference_sm3(preimage.encode())


def test_entry_hash_is_sm3_of_the_documented_preimage() -> None:
    digest = hashing.entry_hash(
        prev_hash=hashing.GENESIS, account="bank", account_seq=1, transfer_hash="ff", side="D",
        posted=500, pending=0, balance_before=0, balance_after=500, debits_posted=500,
        credits_posted=0, debits_pending=0, credits_pending=-1, created_at=NOW,
    )  # fmt: skip
    micros = int(NOW.timestamp()) * 1_000_000
    preimage = f"E2|64:{hashing.GENESIS}|4:bank|1|2:ff|1:D|500|0|0|500|500|0|0|-1|{micros}|"
    assert digest == _reference_sm3(preimage.encode())


def test_moving_a_separator_between_text_fields_changes_the_hash() -> None:
    common = {
        "id": "t", "kind": "posted", "amount": 1, "currency": "CNY", "code": "c", "meta": "{}",
        "pending_id": None, "reverses_id": None, "timeout_at": None, "created_at": NOW,
        "request_hash": "r",
    }  # fmt: skip
    one = hashing.transfer_hash(debit_account="a|1:b", credit_account="c", **common)  # type: ignore[arg-type]
    two = hashing.transfer_hash(debit_account="a", credit_account="b|1:c", **common)  # type: ignore[arg-type]
    assert one != two
    absent = hashing.transfer_hash(debit_account="a", credit_account="b", **{**common, "pending_id": None})  # type: ignore[arg-type]
    empty = hashing.transfer_hash(debit_account="a", credit_account="b", **{**common, "pending_id": ""})  # type: ignore[arg-type]
    assert absent != empty


def test_request_fingerprint_distinguishes_every_field() -> None:
    base: dict[str, object] = {
        "action": "transfer", "id": "t", "debit": "a", "credit": "b", "amount": 1, "code": "c",
        "currency": None, "pending": False, "timeout_s": None, "target": None,
    }  # fmt: skip
    changes: list[dict[str, object]] = [
        {"action": "post"}, {"id": "u"}, {"debit": "x"}, {"credit": "x"}, {"amount": 2},
        {"amount": None}, {"code": None}, {"currency": "CNY"}, {"pending": True}, {"timeout_s": 5},
        {"target": "h"},
    ]  # fmt: skip
    seen = {hashing.request_hash(**base)}  # type: ignore[arg-type]
    for change in changes:
        seen.add(hashing.request_hash(**{**base, **change}))  # type: ignore[arg-type]
    assert len(seen) == len(changes) + 1


def test_driver_level_writes_store_timestamps_as_sqlalchemy_does(book: Ledger) -> None:
    """Transfers and entries are written as plain tuples; their timestamps must be stored exactly as
    the SQLAlchemy-written account row's (same clock), or ordering and as-of queries would drift."""
    book.create_account("bank", kind="asset")
    book.create_account("deposit", kind="liability")
    book.transfer(id="t-1", debit="bank", credit="deposit", amount=5, code="deposit", pending=True,
                  timeout_s=60)  # fmt: skip
    with book.engine.connect() as c:
        account = c.exec_driver_sql("SELECT created_at FROM ledger_accounts WHERE code = 'bank'").scalar()
        transfer = c.execute(text("SELECT created_at, timeout_at FROM ledger_transfers")).one()
        entries = {r[0] for r in c.exec_driver_sql("SELECT created_at FROM ledger_entries")}
    assert transfer[0] == account
    assert entries == {account}
    if book.engine.dialect.name == "sqlite":
        assert account == "2026-03-01 09:00:00.000000"
        assert transfer[1] == "2026-03-01 09:01:00.000000"
    assert book.transfer(id="t-1", debit="bank", credit="deposit", amount=5, code="deposit", pending=True,
                         timeout_s=60).replayed  # fmt: skip
    assert book.check().clean


def test_concurrent_identical_copy_batches_write_once(postgres_url: str) -> None:
    """Batches of 16+ transfers go through COPY on PostgreSQL; a concurrent duplicate id there must
    still surface as a unique violation the ledger retries into a replay, never an error."""
    import threading

    book = open_ledger(postgres_url)
    book.create_account("bank", kind="asset")
    book.create_account("deposit", kind="liability")
    batch: list[TransferSpec] = [
        {"id": f"b-{i}", "debit": "bank", "credit": "deposit", "amount": 10 + i, "code": "deposit"}
        for i in range(40)
    ]
    results: list[list[Transfer]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait()
        try:
            results.append(book.submit(batch))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 8
    assert sum(not r[0].replayed for r in results) == 1
    assert all([t.id for t in r] == [s["id"] for s in batch] for r in results)
    assert book.balance("bank").debits_posted == sum(10 + i for i in range(40))
    assert book.check().clean
    book.engine.dispose()


def _node_fields() -> dict[str, object]:
    return {
        "id": "t-1", "kind": "posted", "debit_account": "bank", "credit_account": "存款|1:x", "amount": 500,
        "currency": "CNY", "code": "deposit", "meta": '{"a":1}', "pending_id": None, "reverses_id": "o",
        "timeout_at": None, "created_at": NOW, "request_hash": "R3|~|1|1|",
    }  # fmt: skip


def test_node_hash_is_sm3_of_the_documented_preimage() -> None:
    debit = hashing.NodeEntry("bank", 3, "D", 500, 0, 100, 600, 700, 100, 0, 0, NOW, "a" * 64)
    credit = hashing.NodeEntry(
        "存款|1:x", 9, "C", 500, -7, -5, 495, 0, 495, 0, 2**63 - 1, NOW, hashing.GENESIS
    )
    digest = hashing.node_hash(**_node_fields(), debit=debit, credit=credit)  # type: ignore[arg-type]
    micros = int(NOW.timestamp()) * 1_000_000
    text_part = (
        f'N3|3:t-1|6:posted|4:bank|6:存款|1:x|3:CNY|7:deposit|7:{{"a":1}}|~|1:o|~|{micros}|9:R3|~|1|1||'
        f"1:D|4:bank|{micros}|64:{'a' * 64}|"
        f"1:C|6:存款|1:x|{micros}|64:{hashing.GENESIS}|"
    )
    numbers = [500, 3, 500, 0, 100, 600, 700, 100, 0, 0, 9, 500, -7, -5, 495, 0, 495, 0, 2**63 - 1]
    binary_part = b"".join(n.to_bytes(8, "big", signed=True) for n in numbers)
    assert digest == _reference_sm3(text_part.encode() + binary_part)


def test_a_stored_integer_outside_64_bits_or_not_an_integer_never_verifies() -> None:
    debit = hashing.NodeEntry("bank", 3, "D", 500, 0, 100, 600, 700, 100, 0, 0, NOW, "a" * 64)
    credit = hashing.NodeEntry("dep", 9, "C", 500, 0, -5, 495, 0, 495, 0, 0, NOW, hashing.GENESIS)
    assert hashing.node_hash(**_node_fields(), debit=debit, credit=credit) is not None  # type: ignore[arg-type]
    for bad in (2**63, "500", 500.0, True):
        wrong = credit._replace(credits_pending=bad)  # type: ignore[arg-type]
        assert hashing.node_hash(**_node_fields(), debit=debit, credit=wrong) is None  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(min_size=1, max_size=12), min_size=6, max_size=6),
    ints=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=17, max_size=17),
    timeout=st.none() | st.just(NOW),
    optional=st.lists(st.none() | st.text(max_size=5), min_size=2, max_size=2),
)
def test_the_write_path_node_hash_equals_the_general_form(
    texts: list[str], ints: list[int], timeout: datetime | None, optional: list[str | None]
) -> None:
    """`node_hash_of` (the write path: positional, kind and account codes encoded beforehand, both
    entries moving by the same amounts) and `node_hash` (what `check()` recomputes from stored rows)
    give the same digest."""
    id_, debit_account, credit_account, code, meta, request_hash = texts
    amount, posted, pending = ints[:3]
    d_seq, d_before, d_after, d_dp, d_cp, d_dpe, d_cpe = ints[3:10]
    c_seq, c_before, c_after, c_dp, c_cp, c_dpe, c_cpe = ints[10:]
    d_prev, c_prev = "d" * 64, "c" * 64
    fast = hashing.node_hash_of(
        id_, hashing.field("post"), hashing.field(debit_account), hashing.field(credit_account), "CNY", code,
        meta, optional[0], optional[1], hashing.micros(timeout), hashing.micros(NOW), request_hash, d_prev,
        c_prev, amount, posted, pending,
        d_seq, d_before, d_after, d_dp, d_cp, d_dpe, d_cpe,
        c_seq, c_before, c_after, c_dp, c_cp, c_dpe, c_cpe,
    )  # fmt: skip
    general = hashing.node_hash(
        id=id_, kind="post", debit_account=debit_account, credit_account=credit_account, amount=amount,
        currency="CNY", code=code, meta=meta, pending_id=optional[0], reverses_id=optional[1],
        timeout_at=timeout, created_at=NOW, request_hash=request_hash,
        debit=hashing.NodeEntry(debit_account, d_seq, "D", posted, pending, d_before, d_after, d_dp, d_cp,
                                d_dpe, d_cpe, NOW, d_prev),
        credit=hashing.NodeEntry(credit_account, c_seq, "C", posted, pending, c_before, c_after, c_dp, c_cp,
                                 c_dpe, c_cpe, NOW, c_prev),
    )  # fmt: skip
    assert fast == general


def test_a_transfer_and_its_entries_share_one_node_hash(book: Ledger) -> None:
    book.create_account("bank", kind="asset")
    book.create_account("deposit", kind="liability")
    for i in range(3):
        book.transfer(id=f"t-{i}", debit="bank", credit="deposit", amount=5 + i, code="deposit")
    with book.engine.connect() as c:
        transfers: dict[str, str] = dict(c.execute(text("SELECT id, hash FROM ledger_transfers")).all())
        entries = c.execute(
            text("SELECT e.transfer_id, a.code, e.account_seq, e.prev_hash, e.hash FROM ledger_entries e "
                 "JOIN ledger_accounts a ON a.id = e.account_id ORDER BY a.code, e.account_seq")
        ).all()  # fmt: skip
        heads: dict[str, str] = dict(c.execute(text("SELECT code, head_hash FROM ledger_accounts")).all())
    assert len(set(transfers.values())) == 3
    assert all(digest == transfers[transfer_id] for transfer_id, _, _, _, digest in entries)
    for account in ("bank", "deposit"):
        chain = [(prev, digest) for _, code, _, prev, digest in entries if code == account]
        assert [prev for prev, _ in chain] == [hashing.GENESIS] + [digest for _, digest in chain[:-1]]
        assert heads[account] == chain[-1][1] == transfers["t-2"]
    assert book.check().clean
