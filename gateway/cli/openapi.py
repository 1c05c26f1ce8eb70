"""`gateway openapi`."""

from __future__ import annotations

import click


@click.group(name="openapi")
def command() -> None:
    """(being built)"""
