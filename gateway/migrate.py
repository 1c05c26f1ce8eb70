"""Alembic, driven from code: `gateway db upgrade` and `gateway serve` call `upgrade()`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from gateway.db import normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would read '%' in a password as a template.
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
