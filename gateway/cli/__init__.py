"""`gateway` command line. Each command group lives in its own module and is registered here.

Conventions: bad input prints one line to stderr and exits 2 (raise `click.UsageError` or
`CliError`); a check that finds a problem exits 1; success exits 0. No tracebacks for expected errors.
"""

from __future__ import annotations

import click

from gateway.cli import (
    audit,
    broker,
    broker_sweep,  # noqa: F401  (registers `broker sweep`)
    claims,
    db,
    demo,
    institutions,
    ledger,
    letter,
    openapi,
    outbox,
    partner_sandbox,
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


# broker_sweep adds `sweep` to the `broker` group that gateway.cli.broker defines.
_COMMANDS = (
    serve, db, openapi, audit, users, sm2, letter, ledger, demo, institutions, outbox, broker, claims,
    partner_sandbox, reconcile,
)  # fmt: skip
for module in _COMMANDS:
    main.add_command(module.command)
