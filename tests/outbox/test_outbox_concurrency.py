"""Four workers drain one outbox at once on PostgreSQL: `FOR UPDATE SKIP LOCKED` hands each delivery
to exactly one of them. Exists only when GATEWAY_TEST_POSTGRES_URL is set (SQLite has one writer):
not generated, not skipped, otherwise."""

from __future__ import annotations

import os
import threading
from collections import Counter

import pytest

from gateway.composition import Container
from gateway.db import make_engine, make_sessionmaker
from gateway.outbox.delivery import BatchResult, Deliverer
from gateway.outbox.worker import drain, outstanding
from tests.outbox.conftest import FAST, Clock, Receiver, emit_events, statuses, subscribe_center

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
WORKERS = 4
EVENTS = 200


@pytest.fixture
def database_url(postgres_database_url: str) -> str:
    """Only PostgreSQL here (overrides the two-backend fixture), emptied for each test."""
    return postgres_database_url


if POSTGRES_URL:

    def test_four_workers_deliver_each_of_200_events_exactly_once(
        container: Container, receiver: Receiver, clock: Clock, database_url: str
    ) -> None:
        receiver.start()
        subscribe_center(container.sessions, receiver.url)
        events = emit_events(container.sessions, EVENTS)
        barrier = threading.Barrier(WORKERS)
        results: list[BatchResult] = [BatchResult() for _ in range(WORKERS)]
        failures: list[Exception] = []

        def work(i: int) -> None:
            engine = make_engine(database_url)  # each worker its own engine and sessions
            deliverer = Deliverer(
                make_sessionmaker(engine), container.signer, clock=clock, config=FAST, worker_id=f"w{i}"
            )
            try:
                barrier.wait()
                results[i] = drain(deliverer)
            except Exception as exc:  # noqa: BLE001 (surfaced in the main thread)
                failures.append(exc)
            finally:
                deliverer.close()
                engine.dispose()

        threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures

        # Each event was POSTed exactly once in this run, and answered 200
        received = Counter(entry["event_id"] for entry in receiver.entries())
        assert received == dict.fromkeys(events, 1)
        assert sum(r.delivered for r in results) == EVENTS
        assert sum(r.claimed for r in results) == EVENTS
        assert statuses(container.sessions) == {"delivered": EVENTS}
        assert outstanding(container.sessions)[0] == 0
