"""`gateway reconcile FILE --format csv|camt053|mt940 [--center CODE]`: import a bank statement of a
center's escrow account and reconcile it against the ledger, with progress, printing the summary.

A bad file prints where it is wrong and exits 2, having changed nothing."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
from sqlalchemy import select

from gateway.cli.common import CliError, open_database, settings_from_env
from gateway.errors import GatewayError

STAGES = ("parse", "load", "match", "settle", "persist", "commit")


@click.command(name="reconcile")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "camt053", "mt940"]), required=True)
@click.option(
    "--center", default=None, help="The center whose escrow account this is (default: the only one)."
)
@click.option("--account", default=None, help="Only the statements of this account number.")
@click.option("--drift-days", type=click.IntRange(0, 30), default=3, show_default=True)
@click.option("--progress/--no-progress", default=None, help="Show progress (default: on a terminal).")
def command(
    file: Path, fmt: str, center: str | None, account: str | None, drift_days: int, progress: bool | None
) -> None:
    """Import FILE (a statement of the center's escrow account) and reconcile it against the ledger."""
    from gateway.composition import statement_parsers
    from gateway.db import transaction, utcnow
    from gateway.finance.matching import MatchingRules
    from gateway.reconciliation import service
    from gateway.reconciliation.settlement import settle_seam
    from gateway.sections.tables import Center

    show = progress if progress is not None else sys.stderr.isatty()
    data = file.read_bytes()
    settings = settings_from_env()
    with click.progressbar(
        length=len(STAGES),
        label="reconcile",
        file=sys.stderr if show else io.StringIO(),
        item_show_func=lambda s: s,
    ) as bar:
        try:
            statements = service.parse_statement(statement_parsers(), data, fmt)
        except GatewayError as exc:
            raise CliError(f"{file.name}: {exc.detail}") from exc
        bar.update(1, "parse")
        engine, sessions = open_database(settings)
        try:
            with transaction(sessions) as session:
                if center is None:
                    codes = list(session.scalars(select(Center.code).limit(2)))
                    if len(codes) != 1:
                        raise CliError("name the center with --center CODE")
                    center = codes[0]
                try:
                    result = service.import_and_reconcile(
                        session, center=center, statements=statements, data=data, fmt=fmt,
                        filename=file.name, actor="cli", now=utcnow(), settle=settle_seam(),
                        account=account, rules=MatchingRules(drift_days=drift_days),
                        progress=lambda stage: bar.update(1, stage),
                    )  # fmt: skip
                except GatewayError as exc:
                    raise CliError(f"{file.name}: {exc.detail}") from exc
            bar.update(1, "commit")
        finally:
            engine.dispose()
    run = result.run
    click.echo(
        f"reconcile {file.name}: center {center}, {result.lines_total} lines ({result.lines_new} new), "
        f"{run.items_considered} ledger items\n"
        f"  matched: {run.matches} matches, {run.matched_lines} lines, {run.matched_items} items, "
        f"{_yuan(run.matched_fen)}\n"
        f"  refunds posted {run.refunds_posted}, voided {run.refunds_voided}\n"
        f"  unmatched lines: {run.unmatched_lines} ({_yuan(run.unmatched_lines_fen)}), "
        f"unmatched ledger items: {run.unmatched_items} ({_yuan(run.unmatched_items_fen)})\n"
        f"  run {run.id}"
    )


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"
