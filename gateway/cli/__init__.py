"""`gateway` command line. Each command group lives in its own module and is registered here.

Conventions: bad input prints one line to stderr and exits 2 (raise `click.UsageError` or
`CliError`); a check that finds a problem exits 1; success exits 0. No tracebacks for expected errors.
"""

from __future__ import annotations

import click

from gateway.cli import (
    audit,
    db,
    demo,
    institutions,
    ledger,
    letter,
    openapi,
    outbox,
    reconcile,
    serve,
    sm2,
    users,
)
from gateway.cli.common import CliError

__all__ = ["CliError", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Electronic-guarantee gateway: bidders, institutions, trading centers and center finance."""


for module in (serve, db, openapi, audit, users, sm2, letter, ledger, demo, institutions, outbox, reconcile):
    main.add_command(module.command)
