"""The gateway's migration creates exactly the ledger's metadata; standalone use creates it too."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ledger import metadata, open_ledger

LEDGER_TABLES = {table.name for table in metadata.sorted_tables}


def _involves_ledger(diff: object) -> bool:
    return any(name in repr(diff) for name in LEDGER_TABLES)


def test_migrated_schema_matches_the_ledger_metadata(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, metadata) if _involves_ledger(d)]
    assert diffs == []


def test_standalone_ledger_creates_its_tables_and_triggers(tmp_path: Path) -> None:
    book = open_ledger(f"sqlite:///{tmp_path}/standalone.db")
    book.create_account("a", kind="asset")
    book.create_account("b", kind="liability")
    book.transfer(id="t", debit="a", credit="b", amount=1, code="x")
    with pytest.raises(DBAPIError), book.engine.begin() as c:
        c.execute(text("DELETE FROM ledger_entries"))
    assert open_ledger(book.engine).check().clean  # opening again on the engine is harmless


def test_standalone_ledger_creates_its_schema_on_postgresql(postgres_url: str) -> None:
    admin = create_engine(make_url(postgres_url), isolation_level="AUTOCOMMIT")
    name = f"ledger_standalone_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        book = open_ledger(make_url(postgres_url).set(database=name).render_as_string(hide_password=False))
        book.create_account("a", kind="asset")
        book.create_account("b", kind="liability")
        book.transfer(id="t", debit="a", credit="b", amount=1, code="x")
        with pytest.raises(DBAPIError), book.engine.begin() as c:
            c.execute(text("UPDATE ledger_entries SET posted = 2"))
        assert book.check().clean
        book.engine.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
