"""`gateway ledger ...` (owned by the Ledger work)."""

from __future__ import annotations

import sys

import click

from gateway.cli.common import CliError, settings_from_env
from ledger import Ledger, LedgerError, has_tables, open_ledger


@click.group(name="ledger")
def command() -> None:
    """The double-entry ledger."""


@command.command(name="check")
@click.option("--progress/--no-progress", default=None, help="Show progress (default: on a terminal).")
def check(progress: bool | None) -> None:
    """Recompute every balance from the entries, verify the hash chains and every invariant.

    Exits 0 when clean, 1 on any violation, 2 when the database cannot be checked.
    """
    settings = settings_from_env()
    book = _open(settings.resolved_database_url)
    show = progress if progress is not None else sys.stderr.isatty()

    def report(done: int, total: int) -> None:
        click.echo(f"\rchecking: {done:,}/{total:,} rows", err=True, nl=done >= total)

    try:
        result = book.check(progress=report if show else None)
    except LedgerError as exc:
        raise CliError(f"{exc.code}: {exc.message}") from exc
    for violation in result.violations:
        where = " ".join(
            part
            for part in (
                f"account={violation.account}" if violation.account else "",
                f"transfer={violation.transfer_id}" if violation.transfer_id else "",
            )
            if part
        )
        click.echo(f"violation {violation.code}: {violation.message} {where}".rstrip())
    summary = f"{result.accounts} accounts, {result.transfers} transfers, {result.entries} entries"
    if result.violations:
        click.echo(f"ledger check: {summary}, {len(result.violations)} violation(s)")
        raise SystemExit(1)
    click.echo(f"ledger check: {summary}, clean")


def _open(url: str) -> Ledger:
    try:
        book = open_ledger(url, create_tables=False)
        tables_present = has_tables(book.engine)
    except LedgerError as exc:
        raise CliError(f"{exc.code}: {exc.message}") from exc
    except Exception as exc:  # an unreachable database is an unusable environment: exit 2
        raise CliError(f"cannot open the ledger: {type(exc).__name__}: {exc}") from exc
    if not tables_present:
        raise CliError("the database has no ledger tables; run `gateway db upgrade` first")
    return book
