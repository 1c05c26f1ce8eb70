"""`Ledger`: the public API over one database (SQLite or PostgreSQL, same code).

Transactions. Without a connection the ledger opens, commits and (on a deadlock, serialization
failure, busy database or concurrent duplicate id) retries its own transaction, so none of those reach
the caller. ``book.within(connection)`` returns the same API bound to the caller's connection and
transaction: the ledger then never commits, so the caller's state change, ledger postings and outbox
rows commit together. Each write runs in a SAVEPOINT there; a `LedgerError` leaves the caller's
transaction usable with nothing written by that call, except `TransactionConflict`, which means
"roll back and retry the use case".

Locking. A write loads every account it touches with one
``SELECT ... WHERE code IN (...) ORDER BY code FOR UPDATE``: sorted order means two writers never
wait on each other in a cycle, and the transfer ids are looked up only after the locks are held, so
concurrent identical submissions see each other. On SQLite ``BEGIN IMMEDIATE`` makes the writer single.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar, overload

from sqlalchemy import Connection, Engine, Row, and_, exists, inspect, or_, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.sql import ColumnElement

from ledger import tables
from ledger.engine import is_conflict, is_unique_violation, make_engine
from ledger.errors import (
    AccountExistsWithDifferentContent,
    AccountNotFound,
    InvalidAccount,
    LedgerError,
    LedgerMismatch,
    StorageError,
    TransactionConflict,
)
from ledger.hashing import GENESIS
from ledger.model import (
    Account,
    AccountFlag,
    AccountKind,
    Balance,
    CheckReport,
    Entry,
    Transfer,
    TransferKind,
    TransferSpec,
    check_account_code,
    check_currency,
)
from ledger.posting import (
    ENTRY_COLUMNS,
    TRANSFER_COLUMNS,
    AccountState,
    Plan,
    Request,
    State,
    TransferRow,
    expiry_request,
    parse,
    plan,
)

T = TypeVar("T")
Clock = Callable[[], datetime]
_IN_CHUNK = 900
_MAX_ATTEMPTS = 12
_EXPIRE_BATCH = 500


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_ledger(target: str | Engine, *, clock: Clock = utc_now, create_tables: bool | None = None) -> Ledger:
    """Open a ledger on a database URL (its own engine) or on an application's `Engine`.

    With a URL the ledger creates its tables and triggers if missing (``create_tables`` defaults to
    True); with an Engine it expects them (the gateway's Alembic migration makes them).
    """
    engine = make_engine(target) if isinstance(target, str) else target
    if create_tables if create_tables is not None else isinstance(target, str):
        try:
            tables.metadata.create_all(engine, checkfirst=True)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot create the ledger tables: {exc}") from exc
    return Ledger(engine, clock=clock)


def has_tables(engine: Engine) -> bool:
    names = set(inspect(engine).get_table_names())
    return {table.name for table in tables.metadata.sorted_tables} <= names


class Ledger:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utc_now,
        connection: Connection | None = None,
        savepoint: bool = True,
    ):
        self.engine = engine
        self.clock = clock
        self._connection = connection
        self._savepoint = savepoint

    def within(self, connection: Connection, *, savepoint: bool = True) -> Ledger:
        """The same ledger, writing inside the caller's transaction (it never commits there).

        Each batch runs in a savepoint, so one the database fails half-way (a concurrent writer of
        the same transfer id, then retried) leaves the caller's transaction usable. `savepoint=False`
        saves its two round trips, for callers that already keep other writers of their transfer ids
        out (a row lock) and roll back on any error: a batch the ledger refuses (a missing account, a
        balance limit) still raises before it writes anything, but a database error is raised at once
        (`TransactionConflict` or `StorageError`, no retry) and leaves the transaction to be rolled
        back. Accounts are always created in a savepoint (two first uses may race to create one)."""
        return Ledger(self.engine, clock=self.clock, connection=connection, savepoint=savepoint)

    # ------------------------------------------------------------------ accounts

    def create_account(
        self,
        code: str,
        *,
        kind: AccountKind | str,
        flags: Iterable[AccountFlag | str] = (),
        currency: str = "CNY",
    ) -> Account:
        """Create an account; the same call again returns it, a different one is refused."""
        check_account_code(code)
        check_currency(currency)
        try:
            account_kind = AccountKind(kind)
            account_flags = frozenset(AccountFlag(flag) for flag in flags)
        except ValueError as exc:
            raise InvalidAccount(str(exc)) from exc
        if len(account_flags) > 1:
            raise InvalidAccount("an account takes at most one balance constraint")
        return self._write(lambda c: self._create_account(c, code, account_kind, account_flags, currency))

    def _create_account(
        self, c: Connection, code: str, kind: AccountKind, flags: frozenset[AccountFlag], currency: str
    ) -> Account:
        existing = self._account_row(c, code)
        if existing is not None:
            account = _account(existing)
            if (account.kind, account.flags, account.currency) != (kind, flags, currency):
                raise AccountExistsWithDifferentContent(f"account {code!r} exists with different content")
            return account
        created_at = self.clock()
        values = {
            "code": code,
            "kind": kind.value,
            "currency": currency,
            "debits_must_not_exceed_credits": AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS in flags,
            "credits_must_not_exceed_debits": AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS in flags,
            "created_at": created_at,
            "debits_posted": 0,
            "credits_posted": 0,
            "debits_pending": 0,
            "credits_pending": 0,
            "entry_seq": 0,
            "head_hash": GENESIS,
        }
        c.execute(tables.accounts.insert().values(values))
        return Account(code, kind, currency, flags, created_at)

    def account(self, code: str) -> Account:
        row = self._read(lambda c: self._account_row(c, code))
        if row is None:
            raise AccountNotFound(f"no account {code!r}")
        return _account(row)

    def accounts(self, *, prefix: str = "", after: str = "", limit: int = 1000) -> list[Account]:
        a = tables.accounts.c
        query = select(tables.accounts).where(a.code > after).order_by(a.code).limit(limit)
        if prefix:
            query = query.where(a.code.startswith(prefix, autoescape=True))
        return [_account(row) for row in self._read(lambda c: c.execute(query).all())]

    @staticmethod
    def _account_row(c: Connection, code: str) -> Row[Any] | None:
        return c.execute(select(tables.accounts).where(tables.accounts.c.code == code)).first()

    # ------------------------------------------------------------------ transfers

    def transfer(
        self,
        *,
        id: str,  # noqa: A002 - the API's name for the client id
        debit: str,
        credit: str,
        amount: int,
        code: str,
        meta: Mapping[str, Any] | None = None,
        currency: str | None = None,
        pending: bool = False,
        timeout_s: int | None = None,
    ) -> Transfer:
        """Move ``amount`` fen from ``credit`` to ``debit`` (or hold it, with ``pending=True``)."""
        spec: TransferSpec = {"id": id, "debit": debit, "credit": credit, "amount": amount, "code": code}
        spec.update({"meta": meta, "currency": currency, "pending": pending, "timeout_s": timeout_s})
        return self.submit([spec])[0]

    def post_pending(
        self,
        *,
        id: str,  # noqa: A002
        pending_id: str,
        amount: int | None = None,
        code: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Transfer:
        """Post a hold: all of it (``amount=None``) or part of it; the rest is released."""
        spec: TransferSpec = {
            "id": id,
            "pending_id": pending_id,
            "amount": amount,
            "code": code,
            "meta": meta,
        }
        return self.submit([spec])[0]

    def void_pending(
        self,
        *,
        id: str,  # noqa: A002
        pending_id: str,
        code: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Transfer:
        spec: TransferSpec = {"id": id, "pending_id": pending_id, "void": True, "code": code, "meta": meta}
        return self.submit([spec])[0]

    def reverse(
        self,
        *,
        id: str,  # noqa: A002
        original_id: str,
        code: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Transfer:
        """Correct a posted transfer by moving its amount back (nothing is ever edited)."""
        spec: TransferSpec = {"id": id, "original_id": original_id, "code": code, "meta": meta}
        return self.submit([spec])[0]

    @overload
    def submit(self, items: Sequence[TransferSpec], *, atomic: Literal[True] = True) -> list[Transfer]: ...
    @overload
    def submit(
        self, items: Sequence[TransferSpec], *, atomic: Literal[False]
    ) -> list[Transfer | LedgerError]: ...
    def submit(
        self, items: Sequence[TransferSpec], *, atomic: bool = True
    ) -> list[Transfer] | list[Transfer | LedgerError]:
        """A batch. ``atomic=True``: all or nothing, the first refusal is raised (its ``index`` says
        which item). ``atomic=False``: each item stands alone; refusals come back in place."""
        if len(items) < _PAUSE_COLLECTOR_FROM:
            return self._submit_batch(items, atomic=atomic)
        with _collector_paused():
            return self._submit_batch(items, atomic=atomic)

    def _submit_batch(
        self, items: Sequence[TransferSpec], *, atomic: bool
    ) -> list[Transfer] | list[Transfer | LedgerError]:
        requests: list[Request] = []
        refused: dict[int, LedgerError] = {}
        for index, item in enumerate(items):
            try:
                requests.append(parse(item, index))
            except LedgerError as error:
                if atomic:
                    raise
                refused[index] = error
        if not requests:
            only_refused: list[Transfer | LedgerError] = [error for _, error in sorted(refused.items())]
            return only_refused
        result = self._write(
            lambda c: self._submit(c, requests, atomic=atomic, now=self.clock()), savepoint=self._savepoint
        )
        if atomic:  # an atomic plan raises its first refusal, so every result is a Transfer
            return result.results
        done = iter(result.results)
        return [refused[i] if i in refused else next(done) for i in range(len(items))]

    def expire_pending(self, now: datetime) -> list[Transfer]:
        """Void every hold whose timeout is at or before ``now``; returns the voids written."""
        written: list[Transfer] = []
        seen: set[str] = set()
        while True:
            due = [i for i in self._read(lambda c: _due_holds(c, now, _EXPIRE_BATCH)) if i not in seen]
            if not due:
                return written
            seen.update(due)
            requests = [expiry_request(index, hold_id) for index, hold_id in enumerate(due)]

            def expire(c: Connection, requests: list[Request] = requests) -> Plan:
                return self._submit(c, requests, atomic=False, now=now)

            result = self._write(expire)
            written += [t for t in result.results if isinstance(t, Transfer) and not t.replayed]

    def _submit(self, c: Connection, requests: Sequence[Request], *, atomic: bool, now: datetime) -> Plan:
        t = tables.transfers.c
        targets = {r.target_id for r in requests if r.target_id is not None}
        in_batch = {r.id: r for r in requests}
        codes = {r.debit for r in requests if r.debit is not None}
        codes.update([r.credit for r in requests if r.credit is not None])
        known: dict[str, TransferRow] = {}
        if targets:
            # Holds and originals are immutable: reading them before the lock is safe.
            known.update(_transfers_where(c, t.id, targets))
            for target in targets:
                if target in known:
                    codes.update((known[target].debit_account, known[target].credit_account))
                elif target in in_batch:
                    codes.update(in_batch[target].accounts)
        sql = _Sql.of(c)
        # Only under the locks look at what exists: a concurrent writer of the same id or a
        # resolution of the same hold holds one of these locks, so it has committed or not started.
        accounts, existing = _lock_then_find(c, sql, sorted(codes), list(in_batch.keys() - known.keys()))
        if existing:
            known.update(_transfers_where(c, t.id, existing))
        state = State(accounts=accounts, transfers=known, resolutions={}, reversals={})
        if targets:
            # Resolutions of the holds and reversals of the originals, in one read.
            for row in _transfers_referring_to(c, targets):
                if row.pending_id in targets:
                    state.resolutions[str(row.pending_id)] = row
                if row.reverses_id in targets:
                    state.reversals[str(row.reverses_id)] = row.id
        result = plan(requests, state, now=now, atomic=atomic, db_time=sql.db_time(now))
        if result.transfers:
            with _driver_cursor(c) as cursor:
                _write_rows(cursor, sql, result, accounts.values())
        return result

    def get_transfer(self, id: str) -> Transfer | None:  # noqa: A002
        rows = self._read(lambda c: _transfers_where(c, tables.transfers.c.id, {id}))
        return rows[id].public() if id in rows else None

    # ------------------------------------------------------------------ balances

    def balance(self, account: str, *, as_of: datetime | None = None) -> Balance:
        """Totals now, or after the last entry at or before ``as_of``."""

        def read(c: Connection) -> Balance:
            row = self._account_row(c, account)
            if row is None:
                raise AccountNotFound(f"no account {account!r}")
            figures: Row[Any] | Any = row
            if as_of is not None:
                e = tables.entries.c
                figures = c.execute(
                    select(e.debits_posted, e.credits_posted, e.debits_pending, e.credits_pending)
                    .where(e.account_id == row.id, e.created_at <= as_of)
                    .order_by(e.account_seq.desc())
                    .limit(1)
                ).first()
                if figures is None:
                    return Balance(0, 0, 0, 0, 0)
            return _balance(AccountKind(row.kind), figures)

        return self._read(read)

    def entries(self, account: str, *, after: int = 0, limit: int = 100) -> list[Entry]:
        """An account's entries in order, ``limit`` at a time after sequence number ``after``."""

        def read(c: Connection) -> list[Entry]:
            row = self._account_row(c, account)
            if row is None:
                raise AccountNotFound(f"no account {account!r}")
            e = tables.entries.c
            rows = c.execute(
                select(tables.entries)
                .where(e.account_id == row.id, e.account_seq > after)
                .order_by(e.account_seq)
                .limit(max(1, min(limit, 10_000)))
            ).all()
            return [_entry(account, r) for r in rows]

        return self._read(read)

    # ------------------------------------------------------------------ audit

    def check(
        self,
        *,
        progress: Callable[[int, int], None] | None = None,
        raise_on_violation: bool = False,
    ) -> CheckReport:
        """Recompute every balance from the entries, verify every hash chain and every invariant."""
        from ledger.check import run_check

        def read(c: Connection) -> CheckReport:
            return run_check(c, progress=progress)

        report = read(self._connection) if self._connection is not None else self._snapshot(read)
        if raise_on_violation and not report.clean:
            first = report.violations[0]
            raise LedgerMismatch(
                f"{len(report.violations)} violation(s); first: {first.code}: {first.message}"
            )
        return report

    def _snapshot(self, work: Callable[[Connection], T]) -> T:
        try:
            options: dict[str, Any] = {}
            if self.engine.dialect.name == "postgresql":
                options["isolation_level"] = "REPEATABLE READ"
            with self.engine.connect().execution_options(**options) as c, c.begin():
                return work(c)
        except LedgerError:
            raise
        except SQLAlchemyError as exc:
            raise StorageError(f"the ledger database failed: {type(exc).__name__}") from exc

    # ------------------------------------------------------------------ transactions

    def _read(self, work: Callable[[Connection], T]) -> T:
        if self._connection is not None:
            return work(self._connection)
        try:
            with self.engine.connect() as c, c.begin():
                return work(c)
        except LedgerError:
            raise
        except SQLAlchemyError as exc:
            raise StorageError(f"the ledger database failed: {type(exc).__name__}") from exc

    def _write(self, work: Callable[[Connection], T], *, savepoint: bool = True) -> T:
        bare = self._connection is not None and not savepoint  # nothing to roll back to: no retry
        for attempt in range(_MAX_ATTEMPTS):
            last = attempt == _MAX_ATTEMPTS - 1
            try:
                if bare:
                    return work(self._connection)  # type: ignore[arg-type]  # bare implies a connection
                if self._connection is not None:
                    with self._connection.begin_nested():
                        return work(self._connection)
                with self.engine.begin() as c:
                    return work(c)
            except LedgerError:
                raise
            except DBAPIError as exc:
                if is_unique_violation(exc) and bare:
                    raise TransactionConflict("concurrent write of the same transfer; roll back") from exc
                if is_unique_violation(exc) and not last:
                    continue  # a concurrent writer won; the next attempt sees its row
                if is_conflict(exc):
                    if self._connection is not None or last:
                        raise TransactionConflict("concurrent update; roll back and retry") from exc
                    time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311 - jitter
                    continue
                raise StorageError(f"the ledger database failed: {type(exc).__name__}") from exc
            except SQLAlchemyError as exc:
                raise StorageError(f"the ledger database failed: {type(exc).__name__}") from exc
        raise TransactionConflict("concurrent update; roll back and retry")  # pragma: no cover


_PAUSE_COLLECTOR_FROM = 64


@contextmanager
def _collector_paused() -> Iterator[None]:
    """CPython's cycle collector paused while one large batch is parsed, planned and written.

    A 1,000-transfer batch makes about 7,000 container objects (requests, rows, results) that all live
    until the batch ends and are then freed by reference counting. A collection run mid-batch only
    traverses them and promotes them to older generations, which brings on full collections of the
    whole process: about a tenth of the batch's CPU time in `bench/ledger`. Nothing is left
    uncollected: reference counting frees as usual, and cycles made meanwhile (by any thread) wait
    for the next collection after the batch. The switch is process-wide, so the call turns it back on
    only if it turned it off itself: a concurrent batch that found it off leaves it alone, and an
    application that runs with it off keeps it off (one that switches it off while a batch runs finds
    it back on when the batch ends)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


_LOCKED_COLUMNS = (
    "id, code, kind, currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits, "
    "debits_posted, credits_posted, debits_pending, credits_pending, entry_seq, head_hash"
)


@dataclass(frozen=True, slots=True)
class _Sql:
    """The write path's statements in the driver's own parameter style, and its timestamp form."""

    postgresql: bool
    marker: str
    insert_transfer: str
    insert_entry: str
    update_account: str
    time_processor: Callable[[Any], Any] | None

    @staticmethod
    def of(c: Connection) -> _Sql:
        dialect = c.dialect
        cached = _SQL_CACHE.get(dialect)
        if cached is not None:
            return cached
        marker = "?" if dialect.paramstyle == "qmark" else "%s"

        def insert(table: str, columns: tuple[str, ...]) -> str:
            return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"

        totals = (
            "debits_posted",
            "credits_posted",
            "debits_pending",
            "credits_pending",
            "entry_seq",
            "head_hash",
        )
        sql = _Sql(
            postgresql=dialect.name == "postgresql",
            marker=marker,
            insert_transfer=insert(tables.transfers.name, TRANSFER_COLUMNS),
            insert_entry=insert(tables.entries.name, ENTRY_COLUMNS),
            update_account=(
                f"UPDATE {tables.accounts.name} SET {', '.join(f'{n} = {marker}' for n in totals)} "
                f"WHERE id = {marker}"
            ),
            time_processor=tables.transfers.c.created_at.type.dialect_impl(dialect).bind_processor(dialect),
        )
        _SQL_CACHE[dialect] = sql
        return sql

    def db_time(self, now: datetime) -> Callable[[datetime], object]:
        """Timestamps as the column type would bind them (converted once for the batch's ``now``)."""
        process = self.time_processor
        if process is None:
            return _identity
        now_db = process(now)

        def db_time(value: datetime) -> object:
            return now_db if value is now else process(value)

        return db_time

    def in_list(self, column: str, values: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
        if self.postgresql:
            # A semi-join on unnest, not ``= ANY(array)``: with young statistics the planner may pick
            # a sequential scan, and ANY then compares every row with every element.
            return f"{column} IN (SELECT unnest({self.marker}::text[]))", (list(values),)
        return f"{column} IN ({', '.join([self.marker] * len(values))})", tuple(values)


_SQL_CACHE: dict[Any, _Sql] = {}


def _identity(value: datetime) -> object:
    return value


_PG_UPDATE_ACCOUNTS = f"""
    UPDATE {tables.accounts.name} AS a
    SET debits_posted = v.dp, credits_posted = v.cp, debits_pending = v.dpe, credits_pending = v.cpe,
        entry_seq = v.seq, head_hash = v.head
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[],
                %s::bigint[]) AS v(dp, cp, dpe, cpe, seq, head, id)
    WHERE a.id = v.id
"""


_COPY_FROM = 16  # below this many transfers, plain INSERTs beat COPY's extra round trips


def _write_rows(cursor: Any, sql: _Sql, result: Plan, accounts: Iterable[AccountState]) -> None:
    """Plain tuples straight to the driver, no per-row SQLAlchemy processing: on PostgreSQL (from 16
    transfers on) one COPY per table and one UPDATE for all accounts; otherwise one executemany each.
    Only the accounts the plan moved (``dirty``) are updated."""
    updates = [(a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.entry_seq,
                a.head_hash, a.id) for a in accounts if a.dirty]  # fmt: skip
    if not sql.postgresql or len(result.transfers) < _COPY_FROM:
        # PostgreSQL: one pipeline, the three statements in one round trip (an error surfaces as it
        # leaves).
        with cursor.connection.pipeline() if sql.postgresql else nullcontext():
            cursor.executemany(sql.insert_transfer, result.transfers)
            cursor.executemany(sql.insert_entry, result.entries)
            cursor.executemany(sql.update_account, updates)
        return
    for table, columns, rows in (
        (tables.transfers.name, TRANSFER_COLUMNS, result.transfers),
        (tables.entries.name, ENTRY_COLUMNS, result.entries),
    ):
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    cursor.execute(_PG_UPDATE_ACCOUNTS, tuple(list(column) for column in zip(*updates, strict=True)))


@contextmanager
def _driver_cursor(c: Connection) -> Iterator[Any]:
    """A DBAPI cursor on the transaction's own connection: the write path's few statements go to the
    driver without a SQLAlchemy execution context each (its per-row result processing cost more than
    the account load itself). A driver error is wrapped as SQLAlchemy would have wrapped it, so
    `Ledger._write` still retries a unique violation or a conflict."""
    dbapi = c.dialect.loaded_dbapi
    cursor = c.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except dbapi.Error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc
    finally:
        cursor.close()


def _chunks(values: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


_KINDS: Final = {kind.value: kind for kind in AccountKind}  # a dict look-up, not an enum call per row


def _lock_then_find(
    c: Connection, sql: _Sql, codes: Sequence[str], ids: Sequence[str]
) -> tuple[dict[str, AccountState], set[str]]:
    """Lock and load the accounts, then find which of `ids` exist already.

    PostgreSQL: both statements go out in one pipeline (one round trip). That is as safe as waiting
    for the lock first: the server runs them in order, and under READ COMMITTED the second takes its
    snapshot when it starts, after the first has its locks, so it sees whatever the previous holder
    committed."""
    if sql.postgresql and ids:
        driver = c.connection.driver_connection
        with _driver_cursor(c) as lock_cursor, _driver_cursor(c) as id_cursor:
            with driver.pipeline():  # type: ignore[union-attr]
                lock_cursor.execute(*_lock_query(sql, codes))
                id_cursor.execute(*_existing_query(sql, ids))
            return _account_states(lock_cursor.fetchall()), {r[0] for r in id_cursor.fetchall()}
    with _driver_cursor(c) as cursor:
        accounts = _lock_accounts(cursor, sql, codes)
        return accounts, _existing_ids(cursor, sql, ids)


def _lock_query(sql: _Sql, codes: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
    where, params = sql.in_list("code", codes)
    lock = " FOR UPDATE" if sql.postgresql else ""
    return f"SELECT {_LOCKED_COLUMNS} FROM {tables.accounts.name} WHERE {where} ORDER BY code{lock}", params


def _existing_query(sql: _Sql, ids: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
    where, params = sql.in_list("id", ids)
    return f"SELECT id FROM {tables.transfers.name} WHERE {where}", params


def _account_states(rows: Iterable[Any]) -> dict[str, AccountState]:
    locked: dict[str, AccountState] = {}
    for row in rows:
        (id_, code, kind, currency, dnec, cned, dp, cp, dpe, cpe, seq, head) = row
        locked[code] = AccountState(id_, code, _KINDS[kind], currency, bool(dnec), bool(cned),
                                    dp, cp, dpe, cpe, seq, head)  # fmt: skip
    return locked


def _lock_accounts(cursor: Any, sql: _Sql, codes: Sequence[str]) -> dict[str, AccountState]:
    """Lock (PostgreSQL) and load the accounts: one sorted statement on PostgreSQL; on SQLite the
    transaction already holds the write lock (BEGIN IMMEDIATE), so chunks of 900 codes suffice."""
    locked: dict[str, AccountState] = {}
    for chunk in [codes] if sql.postgresql else _chunks(codes):
        cursor.execute(*_lock_query(sql, chunk))
        locked.update(_account_states(cursor.fetchall()))
    return locked


def _existing_ids(cursor: Any, sql: _Sql, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in [ids] if sql.postgresql else _chunks(ids):
        if chunk:
            cursor.execute(*_existing_query(sql, chunk))
            found.update(r[0] for r in cursor.fetchall())
    return found


def _transfers_where(c: Connection, column: ColumnElement[Any], values: set[str]) -> dict[str, TransferRow]:
    found: dict[str, TransferRow] = {}
    for chunk in _chunks(sorted(values)):
        for row in c.execute(select(tables.transfers).where(column.in_(chunk))):
            transfer = transfer_row(row)
            found[transfer.id] = transfer
    return found


def _transfers_referring_to(c: Connection, targets: set[str]) -> list[TransferRow]:
    t = tables.transfers.c
    found: list[TransferRow] = []
    for chunk in _chunks(sorted(targets)):
        query = select(tables.transfers).where(or_(t.pending_id.in_(chunk), t.reverses_id.in_(chunk)))
        found += [transfer_row(row) for row in c.execute(query)]
    return found


def _due_holds(c: Connection, now: datetime, limit: int) -> list[str]:
    p = tables.transfers.alias("hold")
    r = tables.transfers.alias("resolution")
    query = (
        select(p.c.id)
        .where(
            and_(p.c.kind == TransferKind.PENDING.value, p.c.timeout_at <= now),
            ~exists().where(r.c.pending_id == p.c.id),
        )
        .order_by(p.c.timeout_at, p.c.seq)
        .limit(limit)
    )
    return list(c.execute(query).scalars())


def transfer_row(row: Row[Any]) -> TransferRow:
    return TransferRow(
        id=row.id,
        kind=TransferKind(row.kind),
        debit_account=row.debit_account,
        credit_account=row.credit_account,
        amount=row.amount,
        currency=row.currency,
        code=row.code,
        meta=row.meta,
        pending_id=row.pending_id,
        reverses_id=row.reverses_id,
        timeout_at=row.timeout_at,
        created_at=row.created_at,
        request_hash=row.request_hash,
        hash=row.hash,
    )


def _account(row: Row[Any]) -> Account:
    flags = set()
    if row.debits_must_not_exceed_credits:
        flags.add(AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS)
    if row.credits_must_not_exceed_debits:
        flags.add(AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS)
    return Account(row.code, AccountKind(row.kind), row.currency, frozenset(flags), row.created_at)


def _balance(kind: AccountKind, f: Any) -> Balance:
    net = f.debits_posted - f.credits_posted if kind.debit_normal else f.credits_posted - f.debits_posted
    return Balance(f.debits_posted, f.credits_posted, f.debits_pending, f.credits_pending, net)


def _entry(account: str, r: Row[Any]) -> Entry:
    return Entry(
        account=account,
        seq=r.account_seq,
        transfer_id=r.transfer_id,
        side=r.side,
        posted=r.posted,
        pending=r.pending,
        balance_before=r.balance_before,
        balance_after=r.balance_after,
        debits_posted=r.debits_posted,
        credits_posted=r.credits_posted,
        debits_pending=r.debits_pending,
        credits_pending=r.credits_pending,
        created_at=r.created_at,
        hash=r.hash,
    )
