"""Shared CLI plumbing: one-line errors with exit code 2, settings built once per invocation."""

from __future__ import annotations

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.settings import Settings, load_settings


class CliError(click.ClickException):
    """Bad input or an unusable environment: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:  # noqa: ARG002 (always stderr)
        click.echo(f"error: {self.format_message()}", err=True)


def settings_from_env() -> Settings:
    try:
        return load_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).splitlines()
        raise CliError("invalid settings: " + " ".join(line.strip() for line in first[:3])) from exc


def migrate_or_exit(settings: Settings) -> None:
    """Upgrade the schema, turning an unusable database URL or an unreachable server into one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.db import DatabaseUrlError
    from gateway.migrate import upgrade

    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.resolved_database_url)
    except DatabaseUrlError as exc:
        raise CliError(f"GATEWAY_DATABASE_URL: {exc}") from exc
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CliError(f"cannot use the database: {reason}") from exc
    except ModuleNotFoundError as exc:
        raise CliError(f"GATEWAY_DATABASE_URL names a driver that is not installed: {exc.name}") from exc


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """An engine on an up-to-date schema, for commands that read or write the gateway's data."""
    from gateway.db import make_engine, make_sessionmaker

    migrate_or_exit(settings)
    engine = make_engine(settings.resolved_database_url)
    return engine, make_sessionmaker(engine)
