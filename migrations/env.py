"""Alembic environment: runs migrations on the engine the gateway itself would use."""

from __future__ import annotations

from alembic import context

from gateway.db import make_engine
from gateway.schema import all_metadata

config = context.config
target_metadata = all_metadata()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "sqlalchemy.url is set by gateway.migrate.alembic_config"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `gateway db upgrade`")
run_migrations_online()
