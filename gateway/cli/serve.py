"""`gateway serve`."""

from __future__ import annotations

import click


@click.group(name="serve")
def command() -> None:
    """(being built)"""
