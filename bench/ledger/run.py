"""Ledger benchmark: `.venv/bin/python -m bench.ledger.run --backend sqlite|postgresql`.

Prints transfers/s for single calls, 1,000-transfer batches, 16 concurrent writers (one hot account,
and 1,000 accounts), check() time per million entries, and the baseline from the same run: the very
rows the batched run wrote, inserted again with plain DBAPI ``executemany`` into copies of the tables.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import MetaData, text
from sqlalchemy.sql.elements import quoted_name

from bench.common import scratch_database
from ledger import Ledger, LedgerError, TransferSpec, open_ledger
from ledger import tables as ledger_tables

ACCOUNTS = 1_000
_BATCHES = 60  # made ahead; more are made on demand (outside the clock) on a fast machine


def _accounts(book: Ledger) -> list[str]:
    book.create_account("source", kind="equity")
    codes = [f"acct:{i:04d}" for i in range(ACCOUNTS)]
    for code in [*codes, "hot"]:
        book.create_account(code, kind="asset")
    return codes


def _spec(tid: str, rng: random.Random, codes: list[str]) -> TransferSpec:
    debit, credit = rng.sample(codes, 2)
    return {"id": tid, "debit": debit, "credit": credit, "amount": rng.randint(1, 10_000), "code": "bench"}


def _timed(seconds: float, step: Callable[[int], int]) -> float:
    """Runs step(i) until `seconds` pass; returns transfers per second."""
    return _timed_both(seconds, step)[0]


def _timed_both(
    seconds: float, step: Callable[[int], int], prepare: Callable[[int], None] | None = None
) -> tuple[float, float]:
    """Runs step(i) until `seconds` of it pass; returns transfers per wall-clock second and per
    CPU-second of this process (on SQLite all the work is in-process, so the CPU figure is the one
    that other processes on a shared machine do not move). ``prepare(i)`` runs before each step,
    outside the clocks: the workload's own cost (drawing a batch), not the ledger's."""
    done, i, wall, cpu = 0, 0, 0.0, 0.0
    while wall < seconds:
        if prepare is not None:
            prepare(i)
        start, cpu_start = time.perf_counter(), time.process_time()
        done += step(i)
        wall += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        i += 1
    return done / wall, done / cpu


def _create_baseline_tables(book: Ledger) -> None:
    """Copies of the transfer and entry tables with the same keys, unique constraints, indexes and
    foreign keys (to the real accounts and transfers), so the baseline pays what any insert into this
    schema pays and the ratio measures the ledger's own work. The copies have no immutability triggers;
    those fire only on UPDATE and DELETE, which neither side does."""
    copies = MetaData()
    for table in (ledger_tables.metadata.tables[name] for name in ("ledger_accounts", "ledger_transfers")):
        table.to_metadata(copies)
    created = []
    for name in ("ledger_accounts", "ledger_transfers", "ledger_entries"):
        copy = ledger_tables.metadata.tables[name].to_metadata(copies, name=f"base_{name}")
        for constraint in copy.constraints:
            if isinstance(constraint.name, str):
                constraint.name = f"base_{constraint.name}"
        for index in copy.indexes:
            if isinstance(index.name, str):
                index.name = quoted_name(f"base_{index.name}", quote=None)
        created.append(copy)
    copies.create_all(book.engine, tables=created)
    with book.engine.begin() as c:  # the accounts as they are now; the timed part updates them
        c.execute(text("INSERT INTO base_ledger_accounts SELECT * FROM ledger_accounts"))


def _baseline(book: Ledger, prefix: str) -> tuple[float, float]:
    """Re-write the rows of the batched run with raw executemany, 1,000 transfers per transaction,
    into tables of the same structure (see _create_baseline_tables): the transfers, their entries, and
    one UPDATE per account a batch touches (its totals, entry sequence and head hash), as the ledger
    writes them."""
    _create_baseline_tables(book)
    with book.engine.begin() as c:
        transfers = c.execute(
            text(f"SELECT * FROM ledger_transfers WHERE id LIKE '{prefix}%' ORDER BY seq")
        ).all()
        entries = c.execute(
            text(f"SELECT * FROM ledger_entries WHERE transfer_id LIKE '{prefix}%' ORDER BY id")
        ).all()
        account_rows = {
            row.id: row
            for row in c.execute(
                text(
                    "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending, entry_seq,"
                    " head_hash FROM ledger_accounts"
                )
            )
        }
    raw = book.engine.raw_connection()
    marker = "?" if book.engine.dialect.name == "sqlite" else "%s"
    try:
        cursor = raw.cursor()
        t_sql = f"INSERT INTO base_ledger_transfers VALUES ({', '.join([marker] * len(transfers[0]))})"
        e_sql = f"INSERT INTO base_ledger_entries VALUES ({', '.join([marker] * len(entries[0]))})"
        totals = (
            "debits_posted",
            "credits_posted",
            "debits_pending",
            "credits_pending",
            "entry_seq",
            "head_hash",
        )
        assignments = ", ".join(f"{n} = {marker}" for n in totals)
        a_sql = f"UPDATE base_ledger_accounts SET {assignments} WHERE id = {marker}"
        # The values each batch writes: the accounts' current ones (the cost is the same whatever they are).
        updates = [
            [
                (*account_rows[i][1:], i)
                for i in sorted({e.account_id for e in entries[2 * o : 2 * o + 2_000]})
            ]
            for o in range(0, len(transfers), 1_000)
        ]
        start, cpu = time.perf_counter(), time.process_time()
        for offset in range(0, len(transfers), 1_000):
            if book.engine.dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(t_sql, [tuple(r) for r in transfers[offset : offset + 1_000]])
            cursor.executemany(e_sql, [tuple(r) for r in entries[2 * offset : 2 * offset + 2_000]])
            cursor.executemany(a_sql, updates[offset // 1_000])
            raw.commit()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        raw.close()
    return len(transfers) / elapsed, len(transfers) / cpu


def _concurrent(
    book: Ledger, codes: list[str], *, hot: bool, threads: int, per_thread: int
) -> tuple[float, int]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)
    run = uuid.uuid4().hex[:6]

    def work(n: int) -> None:
        rng = random.Random(n)
        barrier.wait()
        for i in range(per_thread):
            spec = _spec(f"c{run}-{n}-{i}", rng, codes)
            if hot:
                spec["debit"] = "hot"
            try:
                book.submit([spec])
            except LedgerError as exc:
                errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * per_thread / (time.perf_counter() - start), len(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    default_pg = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-url", default=default_pg)
    parser.add_argument("--seconds", type=float, default=8.0, help="per single/batched figure")
    parser.add_argument("--per-thread", type=int, default=60, help="transfers per concurrent writer")
    args = parser.parse_args()

    with scratch_database(args.backend, "benchledger", args.pg_url) as url:
        book = open_ledger(url)
        codes = _accounts(book)
        rng = random.Random(1)
        print(f"ledger bench on {args.backend} ({os.cpu_count()} cores)")

        single = _timed(args.seconds, lambda i: len(book.submit([_spec(f"s-{i}", rng, codes)])))
        print(f"single transfers:            {single:10,.0f} /s")

        # The batches are made outside the clock: drawing random specs is the workload's cost, not the
        # ledger's (the baseline below times only its inserts too). Most are drawn ahead; on a fast
        # machine the rest are drawn between timed calls.
        batches = [[_spec(f"b-{i}-{k}", rng, codes) for k in range(1_000)] for i in range(_BATCHES)]

        def draw(i: int) -> None:
            if i >= len(batches):
                batches.append([_spec(f"b-{i}-{k}", rng, codes) for k in range(1_000)])

        def batch(i: int) -> int:
            return len(book.submit(batches[i]))

        batched, batched_cpu = _timed_both(args.seconds, batch, draw)
        baseline, baseline_cpu = _baseline(book, "b-")
        print(f"batched (1,000 per call):    {batched:10,.0f} /s   {batched_cpu:10,.0f} /CPU-s")
        print(
            f"baseline executemany:        {baseline:10,.0f} /s   {baseline_cpu:10,.0f} /CPU-s   "
            f"ratio {batched / baseline:.2f} wall, {batched_cpu / baseline_cpu:.2f} CPU (target >= 0.5)"
        )

        for label, hot in (("16 writers, one hot account", True), ("16 writers, 1,000 accounts ", False)):
            rate, errors = _concurrent(book, codes, hot=hot, threads=16, per_thread=args.per_thread)
            print(f"{label}: {rate:10,.0f} /s   errors {errors}")

        start = time.perf_counter()
        report = book.check()
        elapsed = time.perf_counter() - start
        per_million = elapsed / max(report.entries, 1) * 1_000_000
        print(
            f"check(): {report.entries:,} entries in {elapsed:.1f} s -> "
            f"{per_million:.0f} s per million entries (extrapolated), clean={report.clean}"
        )
        book.engine.dispose()


if __name__ == "__main__":
    main()
