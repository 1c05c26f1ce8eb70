"""Ledger fixtures: a book on each backend (the migrated gateway database of tests/conftest.py), a
settable clock, and ``postgres_url`` for tests that only PostgreSQL can show (they are not generated,
not skipped, when GATEWAY_TEST_POSTGRES_URL is unset)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, open_ledger, tables

STORED_BOOKS = Path(__file__).parent / "hash_v2_books.json"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(database_url: str, clock: Clock) -> Iterator[Ledger]:
    ledger = open_ledger(database_url, clock=clock)
    yield ledger
    ledger.engine.dispose()


def load_stored_book(book: Ledger, name: str) -> None:
    """Insert one of the books in ``hash_v2_books.json`` as stored rows, exactly as an earlier ledger
    wrote them (hash version 2: ``T2`` transfer and ``E2`` entry hashes). ``fingerprint_v2`` has the
    SM3 request fingerprints of commit 3bc1450, ``fingerprint_v3`` the version-3 fingerprint text of
    commit c0cef7a; both are `test_ledger_fingerprint._scenario` on SQLite. Keys and sequence numbers
    are left to the database; entries name their account by code."""
    stored = json.loads(STORED_BOOKS.read_text(encoding="utf-8"))[name]

    def rows(table: str) -> list[dict[str, Any]]:
        columns = stored[table]["columns"]
        found = [dict(zip(columns, row, strict=True)) for row in stored[table]["rows"]]
        for row in found:
            for column in ("created_at", "timeout_at"):
                if row.get(column) is not None:
                    row[column] = datetime.fromisoformat(row[column])
        return found

    with book.engine.begin() as c:
        c.execute(tables.accounts.insert(), rows("accounts"))
        ids = {code: id_ for id_, code in c.execute(tables.accounts.select().with_only_columns(
            tables.accounts.c.id, tables.accounts.c.code))}  # fmt: skip
        c.execute(tables.transfers.insert(), rows("transfers"))
        for entry in (entries := rows("entries")):
            entry["account_id"] = ids[entry.pop("account")]
        c.execute(tables.entries.insert(), entries)


@pytest.fixture
def stored_book() -> Callable[[Ledger, str], None]:
    return load_stored_book


@pytest.fixture
def postgres_url(postgres_database_url: str) -> str:
    return postgres_database_url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests exist only when PostgreSQL is configured: deselected, never skipped."""
    needs_postgres = [item for item in items if "postgres_url" in getattr(item, "fixturenames", ())]
    for item in needs_postgres:
        item.add_marker(pytest.mark.postgres_only)
    if os.environ.get("GATEWAY_TEST_POSTGRES_URL"):
        return
    if needs_postgres:
        config.hook.pytest_deselected(items=needs_postgres)
        items[:] = [item for item in items if item not in needs_postgres]
