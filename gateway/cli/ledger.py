"""`gateway ledger ...` (owned by the Ledger work)."""

from __future__ import annotations

import click


@click.group(name="ledger")
def command() -> None:
    """The double-entry ledger."""
