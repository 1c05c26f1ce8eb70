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
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from contracts.enums import Product
from contracts.uscc import make_uscc
from gateway.broker.tables import Offer
from gateway.broker.workflow import Broker
from gateway.composition import Container, build_container
from gateway.db import normalise_url
from gateway.demo.seed import seed_market
from gateway.migrate import upgrade
from gateway.settings import load_settings
from signing.letter import issue_letter
from signing.letter.sandbox import sample_letter, sandbox_pki


def _container(database_url: str, data_dir: Path) -> Container:
    upgrade(database_url)
    settings = load_settings(database_url=database_url, data_dir=data_dir, token_secret="bench")  # noqa: S106 - a throwaway key
    container = build_container(settings)
    seed_market(container)
    return container


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


def issuance_rate(container: Container, count: int) -> tuple[float, float]:
    broker = Broker.from_container(container)
    section = "SZ2026-0158-01"
    _one(broker, container, section, 99_999)  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        _one(broker, container, section, n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, count / cpu


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
    issue_letter(data, pki.signer)
    cpu = time.process_time()
    for _ in range(count):
        issue_letter(data, pki.signer)
    return count / (time.process_time() - cpu)


def report(name: str, container: Container, args: argparse.Namespace, baseline: float) -> None:
    per_wall, per_cpu = issuance_rate(container, args.count)
    p50, p99 = fanout_latency(container, args.samples, args.deadline)
    ratio = per_cpu / baseline
    print(f"{name}: {per_wall:6.1f} issued letters/s wall, {per_cpu:6.1f} per CPU-second "
          f"(letter alone {baseline:.1f}/CPU-s, ratio {ratio:.2f}; target >= 20/s/core)")  # fmt: skip
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
        container = _container(f"sqlite:///{tmp}/bench.db", Path(tmp) / "var")
        try:
            report("sqlite", container, args, baseline)
        finally:
            container.close()
        if args.postgres:
            admin_url = make_url(normalise_url(args.postgres))
            name = f"gwbench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = admin_url.set(database=name).render_as_string(hide_password=False)
                container = _container(url, Path(tmp) / "var-pg")
                try:
                    report("postgresql", container, args, baseline)
                finally:
                    container.close()
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
