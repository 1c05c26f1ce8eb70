"""`gateway db`."""

from __future__ import annotations

import click


@click.group(name="db")
def command() -> None:
    """(being built)"""
