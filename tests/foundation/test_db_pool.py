"""PostgreSQL pooled connections (gateway.db): a connection the server ended (restart, crash,
`pg_terminate_backend`) never reaches a caller as an error, although healthy connections are no
longer pinged on every checkout; and a rollback keeps psycopg's prepared statements. These tests
exist only when GATEWAY_TEST_POSTGRES_URL is set: not generated, not skipped, otherwise."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, select, text

from gateway.broker.tables import Application
from gateway.db import make_engine, make_sessionmaker, transaction

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")


@pytest.fixture
def database_url(postgres_database_url: str) -> str:
    return postgres_database_url


@pytest.fixture
def admin(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(admin: Engine, pid: int) -> None:
    with admin.begin() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    for _ in range(200):  # wait until the backend is gone: the server has closed its socket
        with admin.connect() as connection:
            gone = not connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
        if gone:
            return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} still running")


if POSTGRES_URL:

    def test_a_connection_the_server_ended_is_replaced_before_use(database_url: str, admin: Engine) -> None:
        engine = make_engine(database_url, pool_size=2, max_overflow=0)
        try:
            sessions = make_sessionmaker(engine)
            first, second = engine.connect(), engine.connect()  # two pooled connections
            pids = {int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in (first, second)}
            first.close()
            second.close()
            for pid in pids:  # what a PostgreSQL restart does to every pooled connection
                terminate(admin, pid)
            for _ in range(3):  # every use after it succeeds, on a new backend
                with transaction(sessions) as session:
                    assert session.scalars(select(Application.id)).all() == []
                assert backend_pid(engine) not in pids
        finally:
            engine.dispose()

    def test_a_connection_idle_too_long_is_pinged_and_a_healthy_one_is_not(
        database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine = make_engine(database_url, pool_size=1, max_overflow=0, idle_ping_s=0.2)
        try:
            pid = backend_pid(engine)
            pings: list[object] = []
            ping = engine.dialect.do_ping

            def counted(dbapi_connection: object) -> bool:
                pings.append(dbapi_connection)
                return ping(dbapi_connection)  # type: ignore[arg-type]

            monkeypatch.setattr(engine.dialect, "do_ping", counted)
            assert backend_pid(engine) == pid
            assert pings == []  # used again at once: no round trip before it
            time.sleep(0.3)
            assert backend_pid(engine) == pid  # idle too long: pinged, alive, kept
            assert len(pings) == 1
        finally:
            engine.dispose()

    def test_a_rollback_keeps_prepared_statements_and_rolls_back(database_url: str) -> None:
        engine = make_engine(database_url, pool_size=1, max_overflow=0)
        try:
            sessions = make_sessionmaker(engine)
            query = select(Application.id).where(Application.status == "draft")
            for _ in range(6):  # past psycopg's prepare threshold (5)
                with sessions() as session:  # a read-only session: ends with a ROLLBACK
                    session.scalars(query).all()
            with engine.connect() as connection:
                prepared = text("SELECT count(*) FROM pg_prepared_statements")
                assert connection.execute(prepared).scalar_one() >= 1
                # A rollback still undoes what the transaction wrote.
                connection.execute(text("CREATE TEMP TABLE rollback_probe (x int)"))
                connection.commit()
                connection.execute(text("INSERT INTO rollback_probe VALUES (1)"))
                connection.rollback()
                assert connection.execute(text("SELECT count(*) FROM rollback_probe")).scalar_one() == 0
                assert connection.execute(prepared).scalar_one() >= 1
        finally:
            engine.dispose()
