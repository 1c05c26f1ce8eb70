"""`gateway users token --role ROLE --subject SUBJECT`: mint a bearer token for a person."""

from __future__ import annotations

from datetime import timedelta

import click

from contracts.uscc import Uscc, UsccError
from gateway.auth.tokens import Role, TokenError, issue_token
from gateway.cli.common import CliError, settings_from_env
from gateway.db import utcnow


@click.group(name="users")
def command() -> None:
    """People's credentials."""


@command.command(name="token")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--subject", required=True, help="bidder: its USCC; finance: its center code; admin: a name.")
@click.option("--name", default=None, help="The registered name (required for bidders: printed on letters).")
@click.option("--ttl-hours", default=24, show_default=True, type=click.IntRange(1, 24 * 366))
def token_command(role: str, subject: str, name: str | None, ttl_hours: int) -> None:
    """Print a bearer token (keep it secret)."""
    settings = settings_from_env()
    if role == Role.BIDDER:
        try:
            subject = str(Uscc.parse(subject))
        except UsccError as exc:
            raise CliError(f"--subject: {exc}") from exc
        if not name:
            raise CliError("--name: a bidder token must carry the bidder's registered name")
    try:
        token = issue_token(
            settings.secret_token_key(),
            Role(role),
            subject,
            now=utcnow(),
            ttl=timedelta(hours=ttl_hours),
            name=name,
        )
    except TokenError as exc:
        raise CliError(f"--subject/--name: {exc}") from exc
    click.echo(token)
