"""gateway.db's read helpers: `one_of` (IN, or `= ANY(:array)` on PostgreSQL) and the
`binary_results` execution option (rows fetched in PostgreSQL's binary protocol), on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import BigInteger, Boolean, Column, Date, Engine, LargeBinary, MetaData, String, Table, event
from sqlalchemy import select as select_
from sqlalchemy.orm import Session

from gateway.db import BINARY_RESULTS, UtcDateTime, one_of

_META = MetaData()
_SCRATCH = Table(
    "scratch_db_reads",
    _META,
    Column("id", String(18), primary_key=True),
    Column("blob", LargeBinary),
    Column("day", Date),
    Column("at", UtcDateTime()),
    Column("amount", BigInteger),
    Column("flag", Boolean),
    Column("name", String(200)),
)


def _id(n: int) -> str:
    return f"9144030000000{n:05d}"  # as long as the column: a longer value must not match it


_ROWS = [
    {
        "id": _id(n),
        "blob": bytes(range(256)) * 40 + n.to_bytes(4, "big") if n % 7 else None,
        "day": date(2026, 1, 1 + n % 28),
        "at": datetime(2026, 11, 22, 1, 2, 3, n, tzinfo=UTC),
        "amount": 80_000_000 + n,
        "flag": n % 2 == 0,
        "name": f"开标投标人{n}（有限公司）",
    }
    for n in range(300)
]


@pytest.fixture
def scratch(engine: Engine) -> Iterator[Engine]:
    _META.create_all(engine)
    with engine.begin() as connection:
        connection.execute(_SCRATCH.insert(), _ROWS)
    yield engine
    _META.drop_all(engine)


def test_one_of_finds_exactly_the_named_values_however_many(scratch: Engine) -> None:
    # 5,000 names (a center may name that many bidders), most of them absent
    wanted = {_id(n) for n in range(0, 10_000, 2)}
    with Session(scratch) as session:
        found = set(session.scalars(select_(_SCRATCH.c.id).where(one_of(session, _SCRATCH.c.id, wanted))))
        assert found == {row["id"] for row in _ROWS if row["id"] in wanted}
        assert len(found) == 150
        assert not set(session.scalars(select_(_SCRATCH.c.id).where(one_of(session, _SCRATCH.c.id, []))))
        # a value longer than the column is not cut down to one that matches
        too_long = {_id(0) + "x", _id(2) + " " * 20}
        assert not set(
            session.scalars(select_(_SCRATCH.c.id).where(one_of(session, _SCRATCH.c.id, too_long)))
        )


def test_binary_results_read_the_same_values_and_use_the_binary_protocol_on_postgresql(
    scratch: Engine,
) -> None:
    formats: list[Any] = []

    def seen(_conn: Any, cursor: Any, *_args: Any) -> None:
        formats.append(getattr(cursor, "format", None))

    event.listen(scratch, "after_cursor_execute", seen)
    try:
        query = select_(_SCRATCH).order_by(_SCRATCH.c.id)
        with Session(scratch) as session:
            plain = [dict(row._mapping) for row in session.execute(query)]
            binary = [
                dict(row._mapping)
                for row in session.execute(query.execution_options(**{BINARY_RESULTS: True}))
            ]
            streamed = [
                dict(row._mapping)
                for chunk in session.execute(
                    query.execution_options(yield_per=64, **{BINARY_RESULTS: True})
                ).partitions()
                for row in chunk
            ]
    finally:
        event.remove(scratch, "after_cursor_execute", seen)
    assert plain == binary == streamed == [{**row, "flag": bool(row["flag"])} for row in _ROWS]
    if scratch.dialect.name == "postgresql":
        from psycopg import pq

        assert formats[:3] == [pq.Format.TEXT, pq.Format.BINARY, pq.Format.BINARY]
