"""Shared CLI plumbing: one-line errors with exit code 2, settings built once per invocation."""

from __future__ import annotations

import click

from gateway.settings import Settings, load_settings


class CliError(click.ClickException):
    """Bad input or an unusable environment: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def settings_from_env() -> Settings:
    try:
        return load_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).splitlines()
        raise CliError("invalid settings: " + " ".join(line.strip() for line in first[:3])) from exc
