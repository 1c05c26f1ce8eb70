"""PostgreSQL under concurrency: constraints hold, every id lands once, no deadlock or serialization
error reaches a caller. (SQLite has one writer; its threads are exercised more lightly.)"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from ledger import Ledger, LedgerError, open_ledger, tables

ACCOUNTS = [f"acct:{i}" for i in range(10)]


def _open_accounts(book: Ledger) -> None:
    for i, code in enumerate(ACCOUNTS):
        flags = [{"debits_must_not_exceed_credits"}, {"credits_must_not_exceed_debits"}, set()][i % 3]
        book.create_account(code, kind="asset" if i % 2 else "liability", flags=flags)
    book.create_account("source", kind="equity")
    for i, code in enumerate(ACCOUNTS):
        # Fund the constrained side: credits for "debits must not exceed credits", debits for the mirror.
        debit, credit = ("source", code) if i % 3 == 0 else (code, "source")
        book.transfer(id=f"seed-{i}", debit=debit, credit=credit, amount=5_000, code="seed")


def _run_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _random_transfers(book: Ledger, threads: int, per_thread: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def work(n: int) -> None:
        rng = random.Random(n)
        for i in range(per_thread):
            debit, credit = rng.sample(ACCOUNTS, 2)
            kind = rng.random()
            try:
                if kind < 0.7:
                    book.transfer(
                        id=f"w{n}-{i}", debit=debit, credit=credit, amount=rng.randint(1, 900), code="x"
                    )
                elif kind < 0.85:
                    book.transfer(id=f"w{n}-{i}", debit=debit, credit=credit, amount=rng.randint(1, 900),
                                  code="x", pending=True)  # fmt: skip
                    book.post_pending(id=f"w{n}-{i}-p", pending_id=f"w{n}-{i}", amount=rng.randint(1, 900))
                else:
                    pairs = [rng.sample(ACCOUNTS, 2) for _ in range(3)]
                    book.submit(
                        [
                            {"id": f"w{n}-{i}-{k}", "debit": d, "credit": c, "amount": rng.randint(1, 500),
                             "code": "x"}
                            for k, (d, c) in enumerate(pairs)
                        ]
                    )  # fmt: skip
                result = "ok"
            except LedgerError as error:
                result = error.code
            with lock:
                outcomes[result] += 1

    errors = _run_threads(threads, work)
    assert errors == []
    return outcomes


def test_32_threads_of_random_transfers_keep_every_invariant(postgres_url: str) -> None:
    book = open_ledger(postgres_url)
    _open_accounts(book)
    outcomes = _random_transfers(book, threads=32, per_thread=200)
    # Only business refusals reach callers: never a deadlock, serialization failure or storage error.
    assert set(outcomes) <= {"ok", "insufficient_funds", "exceeds_pending_amount"}, outcomes
    assert outcomes["ok"] > 1_000
    assert outcomes["insufficient_funds"] > 0
    report = book.check()
    assert report.clean, report.violations[:5]
    book.engine.dispose()


def test_the_same_id_from_8_threads_writes_exactly_one_transfer(postgres_url: str) -> None:
    book = open_ledger(postgres_url)
    _open_accounts(book)
    for round_ in range(20):
        results: list[object] = []

        def work(n: int, round_: int = round_, results: list[object] = results) -> None:
            # Half the rounds send different content from some threads: one wins, the rest are refused.
            amount = 10 if round_ % 2 == 0 or n % 2 == 0 else 11
            try:
                transfer = book.transfer(
                    id=f"dup-{round_}", debit="acct:0", credit="acct:1", amount=amount, code="x"
                )
                results.append(transfer)
            except LedgerError as error:
                results.append(error.code)

        assert _run_threads(8, work) == []
        written = [r for r in results if not isinstance(r, str) and not getattr(r, "replayed", True)]
        assert len(written) == 1, results
        assert all(r == "exists_with_different_content" or not isinstance(r, str) for r in results)
    with book.engine.connect() as c:
        ids = c.execute(select(func.count()).select_from(tables.transfers).where(
            tables.transfers.c.id.like("dup-%"))).scalar_one()  # fmt: skip
    assert ids == 20
    assert book.check().clean
    book.engine.dispose()


def test_sqlite_threads_serialise_without_errors(database_url: str) -> None:
    book = open_ledger(database_url)
    _open_accounts(book)
    outcomes = _random_transfers(book, threads=4, per_thread=40)
    assert set(outcomes) <= {"ok", "insufficient_funds", "exceeds_pending_amount"}, outcomes
    assert book.check().clean
    book.engine.dispose()
