"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from gateway.schema import all_metadata


def _combined() -> MetaData:
    combined = MetaData()
    for metadata in all_metadata():
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def test_no_difference_between_migrated_schema_and_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, _combined())
    assert differences == [], differences


def test_every_foundation_table_is_managed() -> None:
    assert {"audit_log", "idempotency_keys"} <= set(_combined().tables)
