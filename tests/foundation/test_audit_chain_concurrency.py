"""PostgreSQL: appenders in concurrent transactions still make one unbroken chain. Each waits for the
chain's lock and must then chain on the record the previous holder committed while it waited (which
a head read whose snapshot predates the lock would miss: duplicate seq, or a fork). This module exists
only when GATEWAY_TEST_POSTGRES_URL is set (not generated, not skipped, otherwise)."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import text

from gateway.audit import service as audit
from gateway.composition import Container

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
THREADS, EACH = 8, 15


@pytest.fixture
def database_url(postgres_database_url: str) -> str:
    return postgres_database_url


if POSTGRES_URL:

    def test_concurrent_appenders_make_one_unbroken_chain(container: Container) -> None:
        barrier = threading.Barrier(THREADS)
        errors: list[BaseException] = []

        def appender(worker: int) -> None:
            try:
                barrier.wait()
                for n in range(EACH):
                    with container.sessions() as session, session.begin():
                        audit.append(
                            session,
                            actor=f"worker:{worker}",
                            action="test.appended",
                            object_type="test",
                            object_id=f"{worker}-{n}",
                        )
                        # Hold the lock a little, so the others queue up behind it.
                        session.connection().execute(text("SELECT pg_sleep(0.001)"))
            except BaseException as exc:  # noqa: BLE001 - reported below, with the chain's state
                errors.append(exc)

        threads = [threading.Thread(target=appender, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        with container.sessions() as session:
            result = audit.verify(session)
        assert result.ok, result.breaks
        assert result.records == result.head_seq == THREADS * EACH

    def test_the_first_record_chains_on_the_genesis_hash(container: Container) -> None:
        with container.sessions() as session, session.begin():
            record = audit.append(session, actor="a", action="test.first", object_type="t", object_id="1")
        assert (record.seq, record.prev_hash) == (1, audit.GENESIS_HASH)
