"""Reconciliation benchmark: `.venv/bin/python -m bench.reconcile.run --backend sqlite|postgresql [--n N]`.

Seeds N ledger transfers on a center's escrow account (bulk SQL into `ledger_transfers`, with the
metadata the deposits side writes: bank_ref, counterparty_account, counterparty_name, value_date) and
a statement of about N lines with 1% noise, then times `gateway.reconciliation.service
.import_and_reconcile` end to end: read the ledger items as stored, read open lines, match, write the
new lines and the matches (one row per match; item states only for matches with several items),
commit. Noise: 0.5% of the lines have no ledger item (unknown credits), 0.5% of the items have no
line, and 1% of the matching lines lost the reference and moved 1-2 days (they match on amount +
counterparty account + date window).

Baseline, same run and database: a plain SQL join of the stored lines to the stored transfers on the
reference (`bank_reference = meta's bank_ref`, the references first extracted into an indexed
temporary table), counting pairs. It neither reads the rows into Python
nor writes anything, so the ratio is what the full use case costs over the database's bare join.

Statements are built in memory (a million-line file is over the parsers' 50 MB limit); parsing is
timed separately on a 100,000-line CSV and extrapolated.

CPU: this process's (SQLite runs in it) and, on PostgreSQL, the server backend's that served the run
(utime + stime from /proc/<pg_backend_pid()>/stat; the server must run on this machine), per stage.
On a shared machine CPU is the honest figure: wall includes waiting for the other processes.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from bench.common import backend_cpu, scratch_database
from contracts.statements import Statement, StatementLine
from gateway.db import make_engine, make_sessionmaker, transaction
from gateway.migrate import upgrade
from gateway.reconciliation import service
from gateway.reconciliation.settlement import LedgerSettle
from ledger import open_ledger

CENTER = "BENCH"
ESCROW = f"center:{CENTER}:escrow_bank"
COUNTER = "bench:deposits"
ACCOUNT_NO = "110060149018800012345"
START = date(2026, 1, 1)


def _seed_ledger(url: str, n: int, rng: random.Random) -> list[tuple[str, int, str, date]]:
    """N transfers escrow <- deposits, inserted with bulk SQL; returns (ref, amount, party, day)."""
    book = open_ledger(make_engine(url), create_tables=False)
    book.create_account(ESCROW, kind="asset")
    book.create_account(COUNTER, kind="liability")
    items = []
    for k in range(n):
        day = START + timedelta(days=rng.randrange(90))
        items.append(
            (f"BR{k:09d}", rng.randint(1_000_00, 5_000_000_00), f"6222{rng.randrange(10**12):012d}", day)
        )
    engine = make_engine(url)
    created = datetime(2026, 4, 1, tzinfo=UTC).replace(tzinfo=None)
    columns = (
        "id, kind, debit_account, credit_account, amount, currency, code, meta, created_at, "
        "request_hash, hash"
    )
    with engine.begin() as connection:
        rows = (
            (
                f"dep-{ref}",
                "posted",
                ESCROW,
                COUNTER,
                amount,
                "CNY",
                "deposit_received",
                (
                    f'{{"bank_ref":"{ref}","counterparty_account":"{party}",'
                    f'"counterparty_name":"投标人{ref[-4:]}","value_date":"{day.isoformat()}"}}'
                ),
                created,
                "0" * 64,
                "0" * 64,
            )
            for ref, amount, party, day in items
        )
        if connection.dialect.name == "postgresql":
            driver = connection.connection.driver_connection
            assert driver is not None
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY ledger_transfers ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            connection.exec_driver_sql(
                f"INSERT INTO ledger_transfers ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", list(rows)
            )
    engine.dispose()
    return items


def _statement(items: list[tuple[str, int, str, date]], rng: random.Random) -> Statement:
    construct = StatementLine.model_construct
    lines = []
    for k, (ref, amount, party, day) in enumerate(items):
        roll = rng.random()
        if roll < 0.005:
            continue  # an item the bank has no line for
        if roll < 0.015:  # reference lost, date moved: matched on amount + counterparty + date
            reference, value_date = f"LOST{k:09d}", day + timedelta(days=rng.choice((-2, -1, 1, 2)))
        else:
            reference, value_date = ref, day
        lines.append(
            construct(
                value_date=value_date,
                booking_date=value_date,
                amount_minor=amount,
                direction="credit",
                currency="CNY",
                is_reversal=False,
                bank_reference=reference,
                customer_reference=None,
                transaction_type=None,
                counterparty_name=f"投标人{ref[-4:]}",
                counterparty_account=party,
                narrative="保证金",
                source_location=f"line {k + 3}",
            )
        )
    for k in range(len(items) // 200):  # 0.5% unknown credits
        day = START + timedelta(days=rng.randrange(90))
        lines.append(
            construct(
                value_date=day,
                booking_date=day,
                amount_minor=rng.randint(1, 10_000_00),
                direction="credit",
                currency="CNY",
                is_reversal=False,
                bank_reference=f"UNK{k:09d}",
                customer_reference=None,
                transaction_type=None,
                counterparty_name="未知",
                counterparty_account=f"9999{k:012d}",
                narrative="",
                source_location=f"line {len(items) + k + 3}",
            )
        )
    return Statement.model_construct(
        account=ACCOUNT_NO, currency="CNY", statement_id="BENCH", statement_number="1", opening_balance=None,
        closing_balance=None, lines=tuple(lines), source_location="line 1",
    )  # fmt: skip


def _join(url: str) -> tuple[float, float, int]:
    """The references out of the ledger's metadata into an indexed temporary table, then the join.
    (Without the index SQLite has no better plan than a nested loop; PostgreSQL hashes either way.)"""
    engine = make_engine(url)
    sqlite = url.startswith("sqlite")
    extract = "json_extract(meta, '$.bank_ref')" if sqlite else "(meta::json ->> 'bank_ref')"
    with engine.begin() as connection:
        server = backend_cpu(connection)
        server_before = server()
        start = time.perf_counter()
        connection.execute(
            text(f"CREATE TEMPORARY TABLE bench_refs AS SELECT {extract} AS ref FROM ledger_transfers "
                 "WHERE debit_account = :escrow"),
            {"escrow": ESCROW},
        )  # fmt: skip
        connection.execute(text("CREATE INDEX bench_refs_ref ON bench_refs (ref)"))
        pairs = connection.execute(
            text(
                "SELECT count(*) FROM recon_statement_lines l JOIN bench_refs r ON r.ref = l.bank_reference "
                "WHERE l.center_code = :center"
            ),
            {"center": CENTER},
        ).scalar_one()
        seconds = time.perf_counter() - start
        server_seconds = server() - server_before
    engine.dispose()
    return seconds, server_seconds, int(pairs)


def _parse_rate(rng: random.Random, n: int = 100_000) -> float:
    from adapters.statements import csv_cn

    rows = [
        "账号: 110060149018800012345",
        "流水号,交易日期,交易时间,借方发生额,贷方发生额,对方户名,对方账号,摘要",
    ]
    rows += [
        f"B{k:09d},2026-03-01,10:00:00,,{rng.randint(1, 10**9) / 100:.2f},某公司,6222{k:012d},保证金"
        for k in range(n)
    ]
    data = "\n".join(rows).encode("gbk")
    start = time.perf_counter()
    (statement,) = csv_cn.parse(data)
    assert len(statement.lines) == n
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--n", type=int, default=1_000_000, help="ledger transfers (lines about the same)")
    parser.add_argument("--parse", action="store_true", help="also time the CSV parser on 100,000 lines")
    args = parser.parse_args()
    rng = random.Random(20261122)
    postgres_url = os.environ.get("GATEWAY_BENCH_POSTGRES_URL") or os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if args.backend == "postgresql" and not postgres_url:
        raise SystemExit(
            "set GATEWAY_BENCH_POSTGRES_URL (or GATEWAY_TEST_POSTGRES_URL) for --backend postgresql"
        )
    # A million-line run leaves a 1 GB database behind: removed at the end.
    with scratch_database(args.backend, "bench_recon", postgres_url) as url:
        upgrade(url)
        start = time.perf_counter()
        items = _seed_ledger(url, args.n, rng)
        statement = _statement(items, rng)
        print(f"{args.backend}: seeded {len(items):,} ledger transfers, {len(statement.lines):,} lines "
              f"in {time.perf_counter() - start:.1f} s (not timed below)")  # fmt: skip
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        stages: dict[str, tuple[float, float, float]] = {}
        server: Callable[[], float] = lambda: 0.0  # noqa: E731
        last = [0.0, 0.0, 0.0]

        def progress(stage: str) -> None:
            now, used, served = time.perf_counter(), time.process_time(), server()
            stages[stage] = (now - last[0], used - last[1], served - last[2])
            last[:] = [now, used, served]

        with transaction(sessions) as session:
            server = backend_cpu(session.connection())
            start = last[0] = time.perf_counter()
            cpu = last[1] = time.process_time()
            server_start = last[2] = server()
            result = service.import_and_reconcile(
                session,
                center=CENTER,
                statements=[statement],
                data=b"bench",
                fmt="csv",
                filename="bench",
                actor="bench",
                now=datetime.now(UTC),
                settle=LedgerSettle(),
                progress=progress,
            )
            progress("write")
        progress("commit")
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu
        server_cpu = server() - server_start
        engine.dispose()
        run = result.run
        labels = {
            "load": "dedup + import row", "match": "read lines + ledger items", "settle": "match",
            "persist": "settle + outcome", "write_matches": "write matches",
            "update_lines": "update old lines", "write_lines": "write lines",
            "write": "write item states + free the run", "commit": "commit",
        }  # fmt: skip
        postgres = args.backend == "postgresql"
        parts = ", ".join(
            f"{labels[k]} {wall:.1f}/{used:.1f}" + (f"/{served:.1f}" if postgres else "")
            for k, (wall, used, served) in stages.items()
        )
        unit = "wall/CPU/server CPU" if postgres else "wall/CPU"
        print(f"  reconcile end to end: {total:.1f} s (stages, {unit} s: {parts})")
        print(f"  CPU time of this process (the machine is shared; SQLite runs in-process): {cpu:.1f} s")
        if postgres:
            print(
                f"  CPU time of the PostgreSQL backend: {server_cpu:.1f} s; together {cpu + server_cpu:.1f} s"
            )
        print(
            f"  matches {run.matches:,}; unmatched lines {run.unmatched_lines:,},"
            f" items {run.unmatched_items:,}"
        )
        join_seconds, join_server, pairs = _join(url)
        served = f", server CPU {join_server:.1f} s" if postgres else ""
        print(f"  baseline: plain SQL join on the reference: {join_seconds:.1f} s{served} ({pairs:,} pairs)")
        print(f"  ratio reconcile / join: {total / join_seconds:.1f}x")
        print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.parse:
            print(f"  CSV parse: {_parse_rate(rng):,.0f} lines/s")


if __name__ == "__main__":
    main()
