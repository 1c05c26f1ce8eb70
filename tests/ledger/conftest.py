"""Ledger fixtures: a book on each backend (the migrated gateway database of tests/conftest.py), a
settable clock, and ``postgres_url`` for tests that only PostgreSQL can show (they are not generated,
not skipped, when GATEWAY_TEST_POSTGRES_URL is unset)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ledger import Ledger, open_ledger


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
