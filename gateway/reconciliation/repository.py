"""Queries: the ledger items of a center's escrow account, open statement lines, bulk writes.

Ledger items are read from what the ledger stores (`ledger_transfers`), not from a copy: every posted
or pending transfer on `center:{c}:escrow_bank`, less holds that were voided or expired (the money
never left) and transfers that were reversed, less those already matched or written off here (found
by anti-join against `recon_matches.transfer_id` and `recon_items`). The
metadata the deposits side writes on them (`bank_ref`, `counterparty_account`, `counterparty_name`,
`value_date`) is what matching reads.

Bulk writes use one multi-row statement per batch (executemany) and COPY on PostgreSQL: at a million
lines the row-at-a-time ORM would be most of the run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, literal, select, text
from sqlalchemy.orm import Session

from contracts.statements import StatementLine
from gateway.bookkeeping.accounts import center_escrow_bank
from gateway.db import UtcDateTime
from gateway.finance.matching import AccountLine, LedgerItem
from gateway.reconciliation.tables import StatementLineRow


@dataclass(frozen=True, slots=True)
class EscrowItem:
    """A ledger item and what settling it needs: whether it is a hold still waiting for the bank."""

    item: LedgerItem
    kind: str  # posted | pending
    open_hold: bool  # a pending transfer not yet posted, voided or expired


def escrow_items(session: Session, center: str, *, include_closed: bool = False) -> list[EscrowItem]:
    return [
        EscrowItem(item, kind, open_hold=open_hold)
        for item, kind, open_hold in _escrow(session, center, include_closed=include_closed)
    ]


@dataclass(frozen=True, slots=True)
class OpenEscrow:
    """The open ledger items as a run reads them: the items, and which are holds waiting for the bank."""

    items: list[LedgerItem]
    open_holds: set[str]


def open_escrow(session: Session, center: str) -> OpenEscrow:
    """`escrow_items` of the open items, without an `EscrowItem` per item (a million a run)."""
    found = _escrow(session, center, include_closed=False)
    return OpenEscrow(
        [item for item, _, _ in found], {item.item_id for item, _, open_hold in found if open_hold}
    )


def _escrow(session: Session, center: str, *, include_closed: bool) -> list[tuple[LedgerItem, str, bool]]:
    """(item, kind, open hold) for the center's escrow items."""
    account = center_escrow_bank(center).code
    connection = session.connection()
    params = {"account": account}
    resolved: dict[str, str] = dict(
        connection.execute(
            text(
                "SELECT pending_id, kind FROM ledger_transfers WHERE pending_id IS NOT NULL "
                "AND (debit_account = :account OR credit_account = :account)"
            ),
            params,
        ).all()
    )
    reversed_ids = set(
        connection.execute(
            text(
                "SELECT reverses_id FROM ledger_transfers WHERE reverses_id IS NOT NULL "
                "AND (debit_account = :account OR credit_account = :account)"
            ),
            params,
        ).scalars()
    )
    open_only = "" if include_closed else f" AND {_OPEN}"
    # The metadata's fields come out of the JSON in SQL: parsing a million documents with json.loads
    # in Python was ~10% of a run. PostgreSQL parses each document once (json_to_record; `->>` four
    # times would parse it four times).
    if connection.dialect.name == "postgresql":
        fields = ", ".join(f"m.{name}" for name in META_FIELDS)
        source = (
            "ledger_transfers CROSS JOIN LATERAL json_to_record(meta::json) "
            f"AS m({', '.join(f'{name} text' for name in META_FIELDS)})"
        )
    else:
        fields = ", ".join(f"json_extract(meta, '$.{name}')" for name in META_FIELDS)
        source = "ledger_transfers"
    rows = connection.execute(
        text(
            f"SELECT id, kind, debit_account, amount, currency, created_at, {fields} FROM {source} "
            "WHERE (debit_account = :account OR credit_account = :account) AND kind IN ('posted', 'pending')"
            f"{open_only}"
        ),
        params,
    )
    found: list[tuple[LedgerItem, str, bool]] = []
    skip = reversed_ids
    for transfer_id, kind, debit_account, amount, currency, created_at, ref, party, name, day in rows:
        if transfer_id in skip:
            continue
        resolution = resolved.get(transfer_id)
        if resolution is not None and resolution != "post":
            continue  # voided or expired: nothing reached the bank
        item = LedgerItem(
            item_id=transfer_id,
            amount_minor=amount,
            direction="credit" if debit_account == account else "debit",
            counterparty_account=_text(party),
            counterparty_name=_text(name),
            expected_date=_day(day, created_at),
            bank_reference=_text(ref) or None,
            currency=currency,
        )
        found.append((item, kind, kind == "pending" and resolution is None))
    return found


META_FIELDS = ("bank_ref", "counterparty_account", "counterparty_name", "value_date")
# Not closed: neither the item of a one-item match nor an item state (both columns are unique, indexed).
_OPEN = (
    "NOT EXISTS (SELECT 1 FROM recon_matches m WHERE m.transfer_id = ledger_transfers.id) "
    "AND NOT EXISTS (SELECT 1 FROM recon_items i WHERE i.transfer_id = ledger_transfers.id)"
)


def _text(value: object) -> str:
    """A metadata field as text, as `str(meta.get(name) or "")` read it (SQLite hands JSON numbers back
    as numbers)."""
    return str(value) if value else ""


def _day(value: object, created_at: Any) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    if isinstance(created_at, str):  # SQLite through text(): the stored text
        return date.fromisoformat(created_at[:10])
    day: date = created_at.date()
    return day


LINE_COLUMNS = (
    "id", "account", "value_date", "booking_date", "direction", "amount_fen", "currency", "is_reversal",
    "bank_reference", "customer_reference", "counterparty_name", "counterparty_account", "narrative",
    "source_location",
)  # fmt: skip


def open_lines(session: Session, center: str) -> list[tuple[int, AccountLine]]:
    """The center's statement lines still open, as the matcher reads them (no re-validation)."""
    table = StatementLineRow.__table__
    columns = [table.c[name] for name in LINE_COLUMNS]
    rows = session.connection().execute(
        select(*columns)
        .where(table.c.center_code == center, table.c.status == literal("open", literal_execute=True))
        .order_by(table.c.id)
    )
    construct = StatementLine.model_construct
    found = []
    for row in rows:
        (line_id, account, value_date, booking_date, direction, amount, currency, reversal, bank_ref,
         customer_ref, name, party, narrative, location) = row  # fmt: skip
        line = construct(
            value_date=value_date, booking_date=booking_date, amount_minor=amount, direction=direction,
            currency=currency, is_reversal=bool(reversal), bank_reference=bank_ref,
            customer_reference=customer_ref, transaction_type=None, counterparty_name=name,
            counterparty_account=party, narrative=narrative, source_location=location,
        )  # fmt: skip
        found.append((line_id, AccountLine(account, line)))
    return found


def line_digest(key: str) -> bytes:
    """A line's key as the unique index holds it: the first 16 bytes of its SHA-256 (a collision
    between two of a center's keys, which would take a new line for one imported before, is a
    2^-128 chance per pair)."""
    return hashlib.sha256(key.encode()).digest()[:16]


def known_digests(session: Session, center: str, first: date, last: date) -> set[bytes]:
    """Key digests of the center's lines (any status) with value dates in [first, last]."""
    table = StatementLineRow.__table__
    return set(
        session.connection()
        .execute(
            select(table.c.line_digest).where(
                table.c.center_code == center, table.c.value_date >= first, table.c.value_date <= last
            )
        )
        .scalars()
    )


def lock_imports(session: Session) -> None:
    """Serialise imports and the resolutions that close items (SQLite's single writer already does;
    PostgreSQL takes a table lock that readers pass): an item closed in `recon_matches` is not closed
    in `recon_items` meanwhile, nor the other way round."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE recon_statement_lines IN SHARE ROW EXCLUSIVE MODE"))


@contextmanager
def large_cache(session: Session) -> Iterator[None]:
    """SQLite's page cache raised for the run (it is per connection; restored afterwards): a run
    inserts into a dozen indexes of up to millions of entries, and with the default 2 MB cache most
    index pages are read and written back to the file many times over. PostgreSQL sizes its own."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = {-CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


CACHE_KIB = 256 * 1024


def next_line_id(session: Session) -> int:
    current = session.connection().execute(text("SELECT MAX(id) FROM recon_statement_lines")).scalar()
    return int(current or 0) + 1


def stored_time(session: Session, moment: datetime) -> Any:
    """A time as `UtcDateTime` stores it on this connection's database (for `bulk_insert` rows)."""
    dialect = session.connection().dialect
    process = UtcDateTime().bind_processor(dialect)
    stored = process(moment) if process is not None else moment
    if dialect.name == "sqlite" and isinstance(stored, datetime):
        # The text sqlite3's default adapter makes of it (`isoformat(" ")`), made once instead of
        # once per row.
        return stored.isoformat(" ")
    return stored


def bulk_insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    times_stored: bool = False,
) -> None:
    """Insert many rows inside the session's transaction: COPY on PostgreSQL, the driver's executemany
    on SQLite. Both bypass SQLAlchemy's per-row parameter processing (most of the cost at a million
    rows), so values must be what the column stores: dates as ISO text, and UTC times, which go
    through the column type once per distinct value, unless `times_stored` says the rows hold them as
    stored already (`stored_time`)."""
    connection = session.connection()
    dialect = connection.dialect
    times = {
        k: table.c[name].type.bind_processor(dialect)
        for k, name in enumerate(columns)
        if isinstance(table.c[name].type, UtcDateTime)
    }
    if times and not times_stored:
        rows = _with_times(rows, times)
    driver = connection.connection.driver_connection
    assert driver is not None
    if dialect.name == "postgresql":
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cursor = driver.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def _with_times(rows: Iterable[Sequence[Any]], times: Mapping[int, Any]) -> Iterator[Sequence[Any]]:
    cache: dict[Any, Any] = {}
    for row in rows:
        values = list(row)
        for k, process in times.items():
            value = values[k]
            if value not in cache:
                cache[value] = process(value) if process is not None else value
            values[k] = cache[value]
        yield values


def bulk_update_lines(session: Session, updates: Sequence[Mapping[str, Any]]) -> None:
    """Set status / match_id / note on existing lines: rows of {"line_id", "status", "match_id", "note"}."""
    if not updates:
        return
    session.connection().execute(
        text(
            "UPDATE recon_statement_lines SET status = :status, match_id = :match_id, note = :note "
            "WHERE id = :line_id"
        ),
        list(updates),
    )


def dangling_references(session: Session) -> list[str]:
    """Ids in the bulk columns that name no row (the foreign keys these columns no longer carry):
    empty when the code kept its word. Also items closed twice (in both closing tables)."""
    checks = {
        "line -> import": "SELECT l.id FROM recon_statement_lines l "
        "LEFT JOIN recon_imports i ON i.id = l.import_id WHERE i.id IS NULL",
        "line -> match": "SELECT l.id FROM recon_statement_lines l LEFT JOIN recon_matches m "
        "ON m.id = l.match_id WHERE l.match_id IS NOT NULL AND m.id IS NULL",
        "match -> run": "SELECT m.id FROM recon_matches m LEFT JOIN recon_runs r ON r.id = m.run_id "
        "WHERE m.run_id IS NOT NULL AND r.id IS NULL",
        "item -> match": "SELECT s.transfer_id FROM recon_items s LEFT JOIN recon_matches m "
        "ON m.id = s.match_id WHERE s.match_id IS NOT NULL AND m.id IS NULL",
        "item closed twice": "SELECT s.transfer_id FROM recon_items s "
        "JOIN recon_matches m ON m.transfer_id = s.transfer_id",
    }
    connection = session.connection()
    return [
        f"{name}: {found}" for name, query in checks.items() for (found,) in connection.execute(text(query))
    ]
