"""`gateway db upgrade`: apply Alembic migrations to the configured database."""

from __future__ import annotations

import click

from gateway.cli.common import migrate_or_exit, settings_from_env


@click.group(name="db")
def command() -> None:
    """Database schema."""


@command.command(name="upgrade")
def upgrade_command() -> None:
    """Apply every migration up to the newest."""
    settings = settings_from_env()
    migrate_or_exit(settings)
    click.echo(f"database at {settings.resolved_database_url.split('@')[-1]} is up to date")


@command.command(name="purge-idempotency-keys")
def purge_command() -> None:
    """Delete idempotency keys past their TTL (the server also does this every 10 minutes)."""
    from gateway.cli.common import open_database
    from gateway.db import utcnow
    from gateway.idempotency.service import purge_expired

    engine, sessions = open_database(settings_from_env())
    try:
        click.echo(f"purged {purge_expired(sessions, utcnow())} expired idempotency keys")
    finally:
        engine.dispose()
