"""Storage fixtures: every storage test runs on SQLite and, when GATEWAY_TEST_POSTGRES_URL is set,
again on PostgreSQL.

- SQLite: the schema is migrated once per session into a template file; each test gets its own copy.
- PostgreSQL: a fresh database is created per session (named after the one in the URL) and migrated;
  each test starts from empty tables (TRUNCATE), so tests that commit, and concurrency tests, are
  isolated without relying on a rolled-back outer transaction.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from gateway.app import create_app
from gateway.composition import Container, build_container
from gateway.db import make_engine, normalise_url
from gateway.migrate import upgrade
from gateway.schema import all_metadata
from gateway.settings import Settings, load_settings

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    assert POSTGRES_URL is not None
    admin_url = make_url(normalise_url(POSTGRES_URL))
    name = f"gwtest_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(url: str) -> None:
    tables = [table.name for metadata in all_metadata() for table in metadata.sorted_tables]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def postgres_database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty PostgreSQL database, for tests that only make sense with concurrent writers.

    Modules that use it exist only when GATEWAY_TEST_POSTGRES_URL is set (they are not generated
    otherwise, never skipped)."""
    url: str = request.getfixturevalue("postgres_session_url")
    _truncate_all(url)
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "gateway.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_session_url")
    _truncate_all(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=database_url, data_dir=tmp_path / "var", token_secret="test-token-secret"
    )


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    container = build_container(settings)
    yield container
    container.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client
