"""Engine setup for standalone use, and the classification of database errors.

SQLite behaves like the gateway's engine: WAL, foreign keys, a busy timeout, and every transaction
starts with ``BEGIN IMMEDIATE`` so there is exactly one writer and a read-then-write never fails on
the lock upgrade. PostgreSQL goes through psycopg 3 with READ COMMITTED: each statement sees what
committed before it, and the account rows are locked (sorted, one round trip) before anything is read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from ledger.errors import InvalidInput

# 40001 serialization_failure, 40P01 deadlock_detected, 55P03 lock_not_available.
_PG_CONFLICTS = frozenset({"40001", "40P01", "55P03"})
_PG_UNIQUE = "23505"


def make_engine(url: str, **kwargs: Any) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        configure_sqlite(engine)
        return engine
    if backend in {"postgresql", "postgres"}:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 40)
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed.set(drivername="postgresql+psycopg"), **kwargs)
    raise InvalidInput(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, begins transactions
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_conflict(exc: DBAPIError) -> bool:
    """A deadlock, serialization failure or busy database: retrying the transaction is correct."""
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return state in _PG_CONFLICTS
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


def is_unique_violation(exc: DBAPIError) -> bool:
    """A concurrent writer inserted the same id first: re-reading turns it into a replay or a refusal."""
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return bool(state == _PG_UNIQUE)
    return "unique constraint failed" in str(exc.orig).lower()
