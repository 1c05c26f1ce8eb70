"""`gateway claims forward|decide|list`: retry forwarding, decide for a sandbox institution, look around."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CliError, migrate_or_exit, settings_from_env

if TYPE_CHECKING:
    from gateway.composition import Container


@click.group(name="claims")
def command() -> None:
    """Claims (索赔) filed by trading centers: forwarding to institutions and their decisions."""


def _container() -> Container:
    from gateway.composition import build_container

    settings = settings_from_env()
    migrate_or_exit(settings)
    return build_container(settings)


@command.command(name="forward")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def forward_command(limit: int) -> None:
    """Send every due, unacknowledged claim to its institution now (as the server's loop does)."""
    from gateway.claims.workflow import Claims

    container = _container()
    try:
        claims = Claims.from_container(container)
        filled = claims.fill_deadlines()
        result = claims.forward_due(limit=limit)
    finally:
        container.close()
    for claim_id in result.forwarded:
        click.echo(f"{claim_id}: forwarded")
    for claim_id, error in result.failed.items():
        click.echo(f"{claim_id}: not forwarded ({error}); will retry")
    click.echo(
        f"claims forward: {len(result.forwarded)} forwarded, {len(result.failed)} to retry,"
        f" {len(filled)} deadlines filled"
    )


@command.command(name="decide")
@click.argument("claim_id")
@click.option("--pay/--refuse", "pay", required=True, help="Pay the claimed amount, or refuse.")
@click.option("--reason", default=None, help="Why (required to refuse).")
def decide_command(claim_id: str, pay: bool, reason: str | None) -> None:
    """Decide a claim as its embedded sandbox institution would (real institutions use the partner API)."""
    from gateway.claims import errors
    from gateway.claims.rules import Outcome
    from gateway.claims.tables import Claim
    from gateway.claims.workflow import Claims
    from gateway.errors import GatewayError

    container = _container()
    try:
        with container.sessions() as session:
            row = session.get(Claim, claim_id)
            institution = row.institution_code if row is not None else None
        if institution is None:
            raise CliError(f"claim_not_found: no claim {claim_id!r}")
        if institution not in {party.code for party in container.sandbox_parties}:
            problem = errors.NotSandboxInstitution(f"{institution} decides through the partner API")
            raise CliError(f"{problem.code}: {problem.detail}")
        outcome = Outcome.PAID if pay else Outcome.REFUSED
        Claims.from_container(container).decide(
            claim_id=claim_id, institution_code=institution, outcome=outcome, reason=reason
        )
    except GatewayError as exc:
        raise CliError(f"{exc.code}: {exc.detail}") from exc
    finally:
        container.close()
    click.echo(f"{claim_id}: {outcome.value} by {institution}")


@command.command(name="list")
@click.option(
    "--status", type=click.Choice(["open", "overdue", "decided", "all"]), default="open", show_default=True
)
@click.option("--center", "center_code", required=True, help="Trading center code, e.g. SZ-GGZY.")
def list_command(status: str, center_code: str) -> None:
    """A center's claims with their decision deadlines."""
    from gateway.claims import repository
    from gateway.claims.rules import ClaimStatus, is_overdue, shanghai_date

    container = _container()
    try:
        today = shanghai_date(container.clock())
        with container.sessions() as session:
            rows = repository.centers_claims(
                session, center_code, status=status, today=today, after="", limit=10_000
            )
            for row in rows:
                overdue = is_overdue(ClaimStatus(row.status), row.decision_due, today=today)
                due = row.decision_due.isoformat() if row.decision_due else "(calendar pending)"
                if row.decision_due_provisional:
                    due += " (provisional: weekdays only)"
                forwarded = (
                    "forwarded" if row.forwarded_at else f"not forwarded ({row.forward_attempts} tries)"
                )
                amount = f"¥{row.amount_fen // 100:,}.{row.amount_fen % 100:02d}"
                click.echo(
                    f"{row.id}  {row.guarantee_no}  {amount}  {row.status:<8}"
                    f"  due {due}{'  OVERDUE' if overdue else ''}  {forwarded}"
                )
    finally:
        container.close()
    click.echo(f"{len(rows)} claims")
