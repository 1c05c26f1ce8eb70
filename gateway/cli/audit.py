"""`gateway audit verify`: walk the audit log's hash chain; exit 1 on any break."""

from __future__ import annotations

import sys

import click

from gateway.audit import service as audit
from gateway.cli.common import open_database, settings_from_env


@click.group(name="audit")
def command() -> None:
    """The hash-chained audit log."""


@command.command(name="verify")
@click.option(
    "--expect-head", default=None, help="The head hash recorded elsewhere earlier (detects a cut tail)."
)
def verify_command(expect_head: str | None) -> None:
    """Recompute every record's hash and check the chain is unbroken."""
    engine, sessions = open_database(settings_from_env())
    try:
        with (
            sessions() as session,
            click.progressbar(
                length=audit.count(session), label="verifying audit chain", file=sys.stderr
            ) as bar,
        ):
            last = 0

            def advance(done: int) -> None:
                nonlocal last
                bar.update(done - last)
                last = done

            result = audit.verify(session, progress=advance)
    finally:
        engine.dispose()
    for chain_break in result.breaks:
        click.echo(f"BREAK at seq {chain_break.seq}: {chain_break.problem}")
    if expect_head and expect_head != result.head_hash:
        click.echo(f"BREAK: head is {result.head_hash}, expected {expect_head} (records removed or replaced)")
        sys.exit(1)
    if not result.ok:
        click.echo(f"audit chain BROKEN: {len(result.breaks)} problem(s) in {result.records} records")
        sys.exit(1)
    click.echo(
        f"audit chain ok: {result.records} records, head seq {result.head_seq} hash {result.head_hash}"
    )
