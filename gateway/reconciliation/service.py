"""Use cases: import a statement and reconcile it; resolve exceptions by hand. Never commits.

Import: the file is parsed whole first (a bad file raises `StatementRejected` and changes nothing).
Lines are keyed (`matching.AccountLine.key`) per center; a line already stored is not stored again,
so importing the same statement twice matches nothing twice. Lines for every account in the file
are taken, unless `account` names one (a file can hold several accounts' statements: the same
transfer between two of them has one bank reference in both, which is why the parsers refuse a
repeated reference per account, not per file).

Run: every open line of the center (this file's new ones and those left open before) against every
open ledger item of its escrow account (`repository.open_escrow`), by `gateway.finance.matching`.
A match that includes a hold still waiting for the bank (a refund instruction) settles it through the
`settle` seam: posted, or voided when the match is a returned refund. Lines and items left over are
the exception lists finance resolves (`manual_match`, `write_off_*`).
"""

from __future__ import annotations

import gc
import hashlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.statements import Statement, StatementParseError
from gateway.finance.matching import AccountLine, MatchingRules, reconcile_positions
from gateway.reconciliation import repository
from gateway.reconciliation.errors import (
    ItemNotFound,
    LineNotFound,
    ResolutionRefused,
    StatementRejected,
    UnknownFormat,
)
from gateway.reconciliation.tables import ItemState, Match, Run, StatementImport, StatementLineRow

FORMATS = ("csv", "camt053", "mt940")
DEFAULT_RULES = MatchingRules()
Parser = Callable[[bytes], list[Statement]]
Progress = Callable[[str], None]


class Settle(Protocol):
    """Posts (succeeded) or voids a refund instruction's holds; the deposits side implements it."""

    def __call__(
        self, session: Session, instruction_id: str, *, succeeded: bool, bank_reference: str, now: datetime
    ) -> None: ...


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    lines_total: int
    lines_new: int
    run: Run


def parse_statement(parsers: dict[str, Parser], data: bytes, fmt: str) -> list[Statement]:
    parser = parsers.get(fmt)
    if parser is None:
        raise UnknownFormat(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    try:
        return parser(data)
    except StatementParseError as error:
        raise StatementRejected(str(error), location=error.location) from None


def import_and_reconcile(
    session: Session,
    *,
    center: str,
    statements: Sequence[Statement],
    data: bytes,
    fmt: str,
    filename: str,
    actor: str,
    now: datetime,
    settle: Settle,
    account: str | None = None,
    rules: MatchingRules = DEFAULT_RULES,
    progress: Progress | None = None,
) -> ImportResult:
    with _collector_paused(), repository.large_cache(session):
        return _import_and_reconcile(
            session, center=center, statements=statements, data=data, fmt=fmt, filename=filename,
            actor=actor, now=now, settle=settle, account=account, rules=rules, progress=progress,
        )  # fmt: skip


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the run: a run builds millions of small acyclic objects
    (lines, items, tuples), and each full collection walks all of them (in a profile, over half the
    time charged to building the matches). Nothing here needs it before the run ends. The switch is
    process-wide: it is only turned back on by the call that turned it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import_and_reconcile(
    session: Session,
    *,
    center: str,
    statements: Sequence[Statement],
    data: bytes,
    fmt: str,
    filename: str,
    actor: str,
    now: datetime,
    settle: Settle,
    account: str | None,
    rules: MatchingRules,
    progress: Progress | None,
) -> ImportResult:
    step = progress or (lambda _stage: None)
    chosen = [s for s in statements if account is None or s.account == account]
    if not chosen:
        raise StatementRejected(f"the file has no statement for account {account!r}", location="file")
    import_id = uuid.uuid4().hex
    run_id = uuid.uuid4().hex
    # One import at a time: the "already imported?" check and the line ids stay consistent.
    repository.lock_imports(session)
    # The file's lines, each key once (a statement repeated within one file counts once).
    incoming: dict[str, AccountLine] = {}
    for statement in chosen:
        for line in statement.lines:
            account_line = AccountLine(statement.account, line)
            incoming.setdefault(account_line.key, account_line)
    new: dict[str, tuple[AccountLine, bytes]] = {}  # key -> (line, digest)
    if incoming:
        days = [line.line.value_date for line in incoming.values()]
        known = repository.known_digests(session, center, min(days), max(days))
        digest_of = repository.line_digest
        for key, candidate in incoming.items():
            digest = digest_of(key)
            if digest not in known:
                new[key] = (candidate, digest)
    session.add(
        StatementImport(
            id=import_id,
            center_code=center,
            format=fmt,
            filename=filename[:200],
            sha256=hashlib.sha256(data).hexdigest(),
            accounts=",".join(dict.fromkeys(s.account for s in chosen))[:400],
            lines_total=sum(len(s.lines) for s in chosen),
            lines_new=len(new),
            actor=actor,
            created_at=now,
        )
    )
    session.flush()
    step("load")
    old = repository.open_lines(session, center)
    escrow = repository.open_escrow(session, center)
    step("match")
    given = [line for _, line in old] + [line for line, _ in new.values()]
    found = reconcile_positions(given, escrow.items, rules=rules, uncontested_first=True)
    step("settle")
    holds = escrow.open_holds
    lines, items, line_given = found.lines, found.items, found.line_given
    # Matches numbered in the order of their first line as stored (old lines by id, then the new
    # ones in file order, which is their id order): the match ids the new lines carry, like the
    # matches' primary key, are then appended to their indexes in order, not scattered.
    first_at = [-1] * len(given)
    for number, (_, at_lines, _) in enumerate(found.found):
        first = line_given[at_lines[0]] if len(at_lines) == 1 else min(line_given[i] for i in at_lines)
        first_at[first] = number
    # Rows as plain tuples, the time already in its stored form (a million rows each way).
    stamp = repository.stored_time(session, now)
    line_match: list[str | None] = [None] * len(given)  # by place in `given`
    item_rows: list[tuple[Any, ...]] = []  # the items of matches with several
    match_rows: list[tuple[Any, ...]] = []
    posted = voided = matched_items = 0
    prefix = f"{run_id}."
    for number, at in enumerate((at for at in first_at if at >= 0), start=1):
        rule, at_lines, at_items = found.found[at]
        # Zero-padded: ids in run order are in key order too (appends to the indexes, pages in order).
        match_id = f"{prefix}{number:08d}"
        members = [items[at_items[0]]] if len(at_items) == 1 else [items[j] for j in sorted(at_items)]
        outcome = "none"
        if holds:
            waiting = [item for item in members if item.item_id in holds]
            if waiting:
                succeeded = rule != "returned"
                references = (lines[i].line.bank_reference for i in sorted(at_lines))
                reference = next((ref for ref in references if ref), "")
                for instruction in dict.fromkeys(item.bank_reference or item.item_id for item in waiting):
                    settle(session, instruction, succeeded=succeeded, bank_reference=reference, now=now)
                outcome = "posted" if succeeded else "voided"
                posted += len(waiting) if succeeded else 0
                voided += 0 if succeeded else len(waiting)
        if len(members) == 1:
            match_rows.append(
                (match_id, center, run_id, rule, outcome, None, actor, stamp, members[0].item_id)
            )
        else:
            match_rows.append((match_id, center, run_id, rule, outcome, None, actor, stamp, None))
            item_rows.extend((item.item_id, center, "matched", match_id, None, stamp) for item in members)
        matched_items += len(members)
        for i in at_lines:
            line_match[line_given[i]] = match_id
    # Sums over the lines in the order they were made (cheaper than in matching order).
    matched_lines = matched_fen = unmatched_lines = unmatched_lines_fen = 0
    for account_line, line_match_id in zip(given, line_match, strict=True):
        if line_match_id is None:
            unmatched_lines += 1
            unmatched_lines_fen += account_line.line.amount_minor
        else:
            matched_lines += 1
            matched_fen += account_line.line.amount_minor
    unmatched_items = [item for item, used in zip(items, found.item_state, strict=True) if not used]
    step("persist")
    session.add(
        Run(
            id=run_id,
            center_code=center,
            import_id=import_id,
            drift_days=rules.drift_days,
            lines_considered=len(old) + len(new),
            items_considered=len(escrow.items),
            matches=len(match_rows),
            matched_lines=matched_lines,
            matched_items=matched_items,
            matched_fen=matched_fen,
            unmatched_lines=unmatched_lines,
            unmatched_lines_fen=unmatched_lines_fen,
            unmatched_items=len(unmatched_items),
            unmatched_items_fen=sum(item.amount_minor for item in unmatched_items),
            refunds_posted=posted,
            refunds_voided=voided,
            actor=actor,
            created_at=now,
        )
    )
    session.flush()
    repository.bulk_insert(
        session,
        Match.__table__,  # type: ignore[arg-type]
        MATCH_COLUMNS,
        match_rows,
        times_stored=True,
    )
    step("write_matches")
    repository.bulk_update_lines(
        session,
        [
            {"line_id": line_id, "status": "matched", "match_id": line_match[k], "note": None}
            for k, (line_id, _) in enumerate(old)
            if line_match[k] is not None
        ],
    )
    step("update_lines")
    first_id = repository.next_line_id(session)
    tail = line_match[len(old) :]
    repository.bulk_insert(
        session,
        StatementLineRow.__table__,  # type: ignore[arg-type]
        NEW_LINE_COLUMNS,
        (
            _line_row(first_id + offset, center, import_id, digest, line, tail[offset])
            for offset, (line, digest) in enumerate(new.values())
        ),
    )
    step("write_lines")
    if item_rows:
        item_rows.sort()  # by transfer id: appended to the primary key in order
        repository.bulk_insert(
            session,
            ItemState.__table__,  # type: ignore[arg-type]
            ITEM_COLUMNS,
            item_rows,
            times_stored=True,
        )
    session.flush()
    run = session.get(Run, run_id)
    assert run is not None
    return ImportResult(import_id, sum(len(s.lines) for s in chosen), len(new), run)


MATCH_COLUMNS = (
    "id",
    "center_code",
    "run_id",
    "rule",
    "outcome",
    "note",
    "actor",
    "created_at",
    "transfer_id",
)
ITEM_COLUMNS = ("transfer_id", "center_code", "status", "match_id", "note", "created_at")
NEW_LINE_COLUMNS = (
    "id", "center_code", "line_digest", "import_id", "account", "value_date", "booking_date", "direction",
    "amount_fen", "currency", "is_reversal", "bank_reference", "customer_reference", "counterparty_name",
    "counterparty_account", "narrative", "source_location", "status", "match_id", "note",
)  # fmt: skip


def _line_row(
    line_id: int,
    center: str,
    import_id: str,
    digest: bytes,
    account_line: AccountLine,
    match_id: str | None,
) -> tuple[Any, ...]:
    line = account_line.line
    status = "open" if match_id is None else "matched"
    return (
        line_id, center, digest, import_id, account_line.account, line.value_date.isoformat(),
        line.booking_date.isoformat() if line.booking_date else None,
        line.direction, line.amount_minor, line.currency, line.is_reversal, line.bank_reference,
        line.customer_reference, line.counterparty_name, line.counterparty_account, line.narrative,
        line.source_location, status, match_id, None,
    )  # fmt: skip


def _open_line(session: Session, center: str, line_id: int) -> StatementLineRow:
    line = session.get(StatementLineRow, line_id, with_for_update=True)
    if line is None or line.center_code != center:
        raise LineNotFound(f"statement line {line_id}")
    if line.status != "open":
        raise ResolutionRefused(f"statement line {line_id} is already {line.status}")
    return line


def _open_items(session: Session, center: str, transfer_ids: Sequence[str]) -> list[repository.EscrowItem]:
    every = {e.item.item_id: e for e in repository.escrow_items(session, center, include_closed=True)}
    wanted = list(transfer_ids)
    closed = set(session.scalars(select(ItemState.transfer_id).where(ItemState.transfer_id.in_(wanted))))
    closed.update(session.scalars(select(Match.transfer_id).where(Match.transfer_id.in_(wanted))))
    found = []
    for transfer_id in transfer_ids:
        if transfer_id not in every:
            raise ItemNotFound(f"ledger item {transfer_id}")
        if transfer_id in closed:
            raise ResolutionRefused(f"ledger item {transfer_id} is already matched or written off")
        found.append(every[transfer_id])
    return found


def manual_match(
    session: Session,
    *,
    center: str,
    line_ids: Sequence[int],
    transfer_ids: Sequence[str],
    note: str,
    returned: bool,
    actor: str,
    now: datetime,
    settle: Settle,
) -> Match:
    """Finance matches lines and items by hand. Their amounts must agree (signed: credits in, debits
    out); a returned refund (`returned`) nets to zero on the statement and voids its holds."""
    if not line_ids or len(set(line_ids)) != len(line_ids) or len(set(transfer_ids)) != len(transfer_ids):
        raise ResolutionRefused("name at least one line, each line and item once")
    repository.lock_imports(session)  # items close in two tables: one closer at a time
    lines = [_open_line(session, center, line_id) for line_id in sorted(line_ids)]
    items = _open_items(session, center, transfer_ids)
    line_total = sum(line.amount_fen if line.direction == "credit" else -line.amount_fen for line in lines)
    item_total = sum(
        e.item.amount_minor if e.item.direction == "credit" else -e.item.amount_minor for e in items
    )
    if returned:
        if line_total != 0 or not items:
            raise ResolutionRefused("a returned refund's lines (payout and return) must net to zero")
    elif line_total != item_total:
        raise ResolutionRefused(f"the lines come to {line_total} fen, the items to {item_total} fen")
    match = Match(
        id=f"manual.{uuid.uuid4().hex}", center_code=center, run_id=None, rule="manual", outcome="none",
        note=note[:500], actor=actor, created_at=now,
        transfer_id=items[0].item.item_id if len(items) == 1 else None,
    )  # fmt: skip
    waiting = [e.item for e in items if e.open_hold]
    if waiting:
        reference = next((line.bank_reference for line in lines if line.bank_reference), "") or ""
        for instruction in dict.fromkeys(item.bank_reference or item.item_id for item in waiting):
            settle(session, instruction, succeeded=not returned, bank_reference=reference, now=now)
        match.outcome = "voided" if returned else "posted"
    session.add(match)
    session.flush()
    for line in lines:
        line.status, line.match_id = "matched", match.id
    for e in items if len(items) > 1 else ():
        session.add(
            ItemState(
                transfer_id=e.item.item_id,
                center_code=center,
                status="matched",
                match_id=match.id,
                note=None,
                created_at=now,
            )
        )
    session.flush()
    return match


def write_off_line(session: Session, *, center: str, line_id: int, reason: str) -> StatementLineRow:
    line = _open_line(session, center, line_id)
    line.status, line.note = "written_off", reason[:500]
    session.flush()
    return line


def write_off_item(
    session: Session, *, center: str, transfer_id: str, reason: str, now: datetime
) -> ItemState:
    repository.lock_imports(session)  # items close in two tables: one closer at a time
    _open_items(session, center, [transfer_id])
    state = ItemState(
        transfer_id=transfer_id, center_code=center, status="written_off", match_id=None,
        note=reason[:500], created_at=now,
    )  # fmt: skip
    session.add(state)
    session.flush()
    return state
