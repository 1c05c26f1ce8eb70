"""What the benches share: a scratch PostgreSQL database, a seeded gateway, CPU time read from /proc."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from gateway.composition import Container, build_container
from gateway.db import normalise_url
from gateway.demo.seed import seed_market
from gateway.migrate import upgrade
from gateway.settings import load_settings


@contextmanager
def scratch_postgres(url: str, prefix: str) -> Iterator[str]:
    """A fresh database on the server of `url`, dropped (connections and all) when the block ends;
    yields its URL."""
    admin_url = make_url(normalise_url(url))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def scratch_database(backend: str, prefix: str, postgres_url: str | None) -> Iterator[str]:
    """A throwaway database for one run, removed afterwards (a large run leaves gigabytes behind): a
    SQLite file in a temporary folder, or `scratch_postgres` on the server of `postgres_url`."""
    if backend == "postgresql":
        if not postgres_url:
            raise SystemExit("--backend postgresql needs a server: set GATEWAY_TEST_POSTGRES_URL")
        with scratch_postgres(postgres_url, prefix) as url:
            yield url
        return
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        yield f"sqlite:///{folder / 'bench.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def seeded_container(database_url: str, data_dir: Path) -> Container:
    """The gateway on a migrated database with the demo market (center, sections, institutions)."""
    upgrade(database_url)
    settings = load_settings(database_url=database_url, data_dir=data_dir, token_secret="bench")  # noqa: S106 - a throwaway key
    container = build_container(settings)
    seed_market(container)
    return container


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (on this host) has used so far (/proc/<pid>/stat). Raises
    OSError when there is no such process here."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def backend_cpu(connection: Connection) -> Callable[[], float]:
    """The CPU seconds so far of the PostgreSQL backend serving `connection` (the server must run on
    this machine); 0 on SQLite, which runs in this process."""
    if connection.dialect.name != "postgresql":
        return lambda: 0.0
    pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return lambda: cpu_seconds(pid)
