"""Broker benchmark: applications taken to issued, signed letters per second, in-process (the
workflow that the HTTP endpoints call), on SQLite and PostgreSQL; and quote fan-out latency with one
institution hanging.

Each application: start (tx) -> fan out quotes to the three sandbox institutions (threads) -> record
offers (tx) -> accept (tx) -> institution approves -> record (tx) -> pay (tx, sandbox charge, tx with
the premium hold) -> institution issues: SM2 over the data + letter rendered and PAdES-signed ->
verify SM2 and store the guarantee, settle the premium (tx). The baseline, measured in the same run,
is the letter alone (`signing.letter.issue_letter`): the ratio says how much the broker adds.

Run: .venv/bin/python -m bench.broker.run [--count 40] [--deadline 0.5] [--postgres URL]
(PostgreSQL: --postgres or GATEWAY_TEST_POSTGRES_URL; a scratch database is created and dropped.)
Targets: >= 20 applications to issued letters per second per core; fan-out p50/p99 <= deadline + 50 ms.

"Per core" is shown three ways: per second of wall time, per CPU-second of this process (all its
threads), and per CPU-second of this process plus the PostgreSQL server processes serving it (their
user + system time from /proc/<pid>/stat, so only for a server on this host; "n/a" otherwise). The
load average is printed with each line: wall and CPU figures are inflated on a loaded machine.
The measured orders follow WARM_UP unmeasured ones (see there); their rate is printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import Engine, event, select

from bench.common import cpu_seconds, scratch_postgres, seeded_container
from contracts.enums import Product
from contracts.uscc import make_uscc
from gateway.broker.tables import Offer
from gateway.broker.workflow import Broker
from gateway.composition import Container
from signing.letter import issue_letter
from signing.letter.sandbox import sample_letter, sandbox_pki


def _one(broker: Broker, container: Container, section: str, n: int) -> None:
    bidder = str(make_uscc(f"91440300MA5B{n:05d}"))
    application_id = broker.apply(
        bidder=bidder, bidder_name="基准投标人有限公司", section_code=section, product=Product.BID
    )
    with container.sessions() as session:
        offer_id = session.scalars(
            select(Offer.id).where(
                Offer.application_id == application_id, Offer.institution_code == "SBX-BANK"
            )
        ).one()
    broker.accept(bidder=bidder, application_id=application_id, offer_id=offer_id)
    broker.pay(bidder=bidder, application_id=application_id, method="sandbox")


class ServerCpu:
    """CPU seconds used by the PostgreSQL backends of an engine's connections (same host only)."""

    def __init__(self, engine: Engine) -> None:
        self.pids: set[int] = set()
        self.statements = 0
        self.postgresql = engine.dialect.name == "postgresql"

        @event.listens_for(engine, "checkout")
        def _backend(dbapi_connection: object, record: object, _proxy: object) -> None:
            info = record.info  # type: ignore[attr-defined]
            if self.postgresql and "backend_pid" not in info:
                info["backend_pid"] = dbapi_connection.info.backend_pid  # type: ignore[attr-defined]
            if "backend_pid" in info:
                self.pids.add(info["backend_pid"])

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_args: object) -> None:
            self.statements += 1

    def seconds(self) -> float | None:
        if not self.postgresql:
            return 0.0
        try:
            return sum(cpu_seconds(pid) for pid in self.pids)
        except OSError:
            return None  # not on this host (or gone): not measurable


@dataclass
class Rate:
    wall: float
    process: float
    with_server: float | None
    statements: float  # through SQLAlchemy (the ledger's driver-level statements are not seen)
    waits: float  # voluntary context switches: about one per database round trip on PostgreSQL
    cold: float  # the warm-up orders' rate, per process CPU-second


# Orders before the measured ones. A process's first orders are slower (about 17 against 24 per
# CPU-second on PostgreSQL for the first 20 in one measurement): psycopg prepares a statement only at
# its fifth execution, PostgreSQL settles on a generic plan after five more, and Python's own caches
# fill. A serving gateway spends its life past that, so the rate is measured after it, and the warm-up
# rate is printed next to it.
WARM_UP = 20


def issuance_rate(container: Container, count: int) -> Rate:
    broker = Broker.from_container(container)
    section = "SZ2026-0158-01"
    server = ServerCpu(container.engine)
    cold = time.process_time()
    for n in range(WARM_UP):
        _one(broker, container, section, 99_900 + n)
    cold = WARM_UP / (time.process_time() - cold)
    server.statements = 0
    before = server.seconds()
    waits = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        _one(broker, container, section, n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    waits = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - waits
    after = server.seconds()
    with_server = None if before is None or after is None else count / (cpu + after - before)
    return Rate(count / wall, count / cpu, with_server, server.statements / count, waits / count, cold)


def fanout_latency(container: Container, samples: int, deadline: float) -> tuple[float, float]:
    from adapters.banks.sandbox.core import SandboxInstitution  # bench may reach the sandbox directly

    hanging = container.institutions["SBX-GUARANTOR"]
    assert isinstance(hanging, SandboxInstitution)
    hanging.behaviour.latency_s = deadline * 20
    container.quote_deadline_s = deadline
    broker = Broker.from_container(container)
    timings = []
    for n in range(samples):
        bidder = str(make_uscc(f"91440300MA5F{n:05d}"))
        start = time.perf_counter()
        broker.apply(
            bidder=bidder,
            bidder_name="基准投标人有限公司",
            section_code="SZ2026-0158-02",
            product=Product.BID,
        )
        timings.append(time.perf_counter() - start)
    hanging.behaviour.latency_s = 0
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]


def letter_baseline(count: int) -> float:
    pki, data = sandbox_pki(), sample_letter()
    for _ in range(5):  # the process's first letters cost more (caches filling)
        issue_letter(data, pki.signer)
    cpu = time.process_time()
    for _ in range(count):
        issue_letter(data, pki.signer)
    return count / (time.process_time() - cpu)


def report(name: str, container: Container, args: argparse.Namespace, baseline: float) -> None:
    rate = issuance_rate(container, args.count)
    p50, p99 = fanout_latency(container, args.samples, args.deadline)
    ratio = rate.process / baseline
    with_server = "n/a" if rate.with_server is None else f"{rate.with_server:.1f}"
    print(f"{name}: {rate.wall:6.1f} issued letters/s wall, {rate.process:6.1f} per process CPU-second, "
          f"{with_server} per (process + database server) CPU-second; {rate.statements:.0f} SQLAlchemy "
          f"statements and {rate.waits:.0f} waits (voluntary context switches, ~ round trips) per letter "
          f"(letter alone {baseline:.1f}/CPU-s, ratio {ratio:.2f}; "
          f"target >= 20/s/core; load average {os.getloadavg()[0]:.2f})")  # fmt: skip
    print(f"{name}: the {WARM_UP} warm-up orders before them (a fresh process, nothing prepared yet): "
          f"{rate.cold:.1f} per process CPU-second")  # fmt: skip
    deadline_ms = args.deadline * 1000
    print(f"{name}: fan-out with one institution hanging, deadline {deadline_ms:.0f} ms: "
          f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (target <= {deadline_ms + 50:.0f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--deadline", type=float, default=0.5)
    parser.add_argument("--postgres", default=os.environ.get("GATEWAY_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    baseline = letter_baseline(max(10, args.count // 2))
    with tempfile.TemporaryDirectory() as tmp:
        container = seeded_container(f"sqlite:///{tmp}/bench.db", Path(tmp) / "var")
        try:
            report("sqlite", container, args, baseline)
        finally:
            container.close()
        if args.postgres:
            with scratch_postgres(args.postgres, "gwbench") as url:
                container = seeded_container(url, Path(tmp) / "var-pg")
                try:
                    report("postgresql", container, args, baseline)
                finally:
                    container.close()


if __name__ == "__main__":
    main()
