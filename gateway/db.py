"""One engine per process, with the same behaviour on SQLite and PostgreSQL.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every transaction starts
with ``BEGIN IMMEDIATE``: there is exactly one writer at a time, so read-then-write use cases never
fail half-way with "database is locked" on the lock upgrade; concurrent writers wait (busy_timeout).

PostgreSQL goes through psycopg 3, with two changes to what a pooled connection costs per transaction
(see `_configure_postgresql`): a connection is pinged on checkout only when it may be dead, not every
time; and a plain ROLLBACK keeps psycopg's prepared statements.
"""

from __future__ import annotations

import select
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from psycopg import Error as PsycopgError
from psycopg import pq
from psycopg.pq import ConnStatus, TransactionStatus
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    String,
    TypeDecorator,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, InvalidatePoolError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every gateway table (the ledger keeps its own metadata)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DatabaseUrlError(ValueError):
    """The configured database URL cannot be used."""


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as psycopg 3 URLs; reject anything unusable."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        return str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    if backend == "sqlite":
        return url
    raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# A pooled PostgreSQL connection idle longer than this is pinged before use even when nothing says
# it is dead (a peer that vanished without closing the socket).
IDLE_PING_S: Final = 30.0


def make_engine(url: str, *, idle_ping_s: float = IDLE_PING_S, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # `pool_pre_ping=True` costs a round trip on every checkout (8 per guarantee issued);
    # `_configure_postgresql` pings only a connection that may be dead. pool_pre_ping=True still works.
    kwargs.setdefault("pool_pre_ping", False)
    engine = create_engine(url, **kwargs)
    _configure_postgresql(engine, idle_ping_s=idle_ping_s)
    return engine


BINARY_RESULTS = "binary_results"
"""Execution option: on PostgreSQL, fetch this statement's rows in the binary protocol. Worth it for
rows carrying large `bytea` values (letters): the text protocol sends them hex-encoded, twice the
bytes, and decoding the hex costs more than the query (1,000 65 KB letters: ~215 ms text, ~65 ms
binary). Only for statements whose column types psycopg loads in binary the same as in text (the
built-in types: text, integers, dates, timestamps, bytea, booleans); ignored on SQLite."""


def _configure_postgresql(engine: Engine, *, idle_ping_s: float) -> None:
    """Checkout: ping a pooled connection only when it may be dead, instead of every time.

    A dead connection must not reach a caller as an error (after a PostgreSQL restart every pooled
    connection is dead). When the server ends a session (restart, crash, `pg_terminate_backend`,
    idle timeout) it sends a FATAL message and closes the socket, so an idle connection's socket
    becomes readable, and libpq marks a connection it saw close as bad. A connection whose socket is
    readable or that is marked bad or closed, or that sat idle longer than `idle_ping_s` (a peer
    gone without a word), is pinged; if the ping fails, the pool drops every connection made before
    it (as pool_pre_ping does) and the checkout retries on a fresh one. A healthy idle connection
    has nothing to read, so it is used without a round trip.

    Rollback: psycopg forgets its prepared statements (and sends DEALLOCATE ALL) on every ROLLBACK,
    to be safe from DDL undone by it. Every read-only session ends with a ROLLBACK, so statements
    never reached psycopg's prepare threshold and PostgreSQL parsed and planned every statement anew
    (about half of its CPU per guarantee). A rollback of a healthy transaction (not one in error) is
    sent here, at the libpq level, so psycopg keeps them. Prepared statements are not transactional
    in PostgreSQL (they survive a ROLLBACK); the gateway's use cases run no DDL (migrations run and
    commit before it serves), and psycopg still clears them on DROP/ALTER and on the rollback of a
    failed transaction. A rolled-back transaction's writes are undone all the same.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _result_format(
        _connection: Any, cursor: Any, _statement: str, _parameters: Any, context: Any, _executemany: bool
    ) -> None:
        if context is not None and context.execution_options.get(BINARY_RESULTS):
            cursor.format = pq.Format.BINARY

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None:
            return  # just connected (or re-connected): nothing to check yet
        if not _may_be_dead(dbapi_connection, idle_too_long=time.monotonic() - idle_since > idle_ping_s):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except PsycopgError as exc:
            # The pool invalidates every connection older than this one and retries the checkout.
            raise InvalidatePoolError(f"pooled connection found dead on checkout: {exc}") from exc

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Connection) -> None:
        if connection.closed or connection.invalidated:
            return
        pgconn = connection.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
        if pgconn.transaction_status != TransactionStatus.INTRANS:
            return  # idle (nothing to do) or failed (psycopg's own rollback, which clears its cache)
        try:
            pgconn.exec_(b"ROLLBACK")
        except PsycopgError:
            return  # the connection broke: psycopg's rollback that follows reports it as usual


def _may_be_dead(dbapi_connection: Any, *, idle_too_long: bool) -> bool:
    if idle_too_long or dbapi_connection.closed or dbapi_connection.pgconn.status != ConnStatus.OK:
        return True
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))  # an idle connection has nothing to read unless the server spoke


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One use case, one transaction: commit on success, roll back on any exception."""
    with sessions() as session, session.begin():
        yield session


def one_of(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN values`, sent as `column = ANY(:array)` on PostgreSQL: one parameter however many
    values (a center names up to 5,000 bidders), one statement text for the plan cache."""
    if session.get_bind().dialect.name == "postgresql":
        # A text array without the column's length: a cast to varchar(18)[] would cut a longer value
        # down to one that matches.
        element = String() if isinstance(column.type, String) else column.type
        return column == any_(bindparam(None, list(values), type_=ARRAY(element)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC on every backend and always hands back an aware UTC datetime.

    SQLite has no time zone type; storing naive UTC and re-attaching UTC on read keeps values
    identical across SQLite and PostgreSQL (which matters for anything that is hashed).
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
