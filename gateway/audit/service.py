"""The append-only audit log: every state change and every operator or partner action.

Each record's hash is SM3 over the previous record's hash and the record's canonical JSON, so editing
or deleting any row breaks the chain from there on. `seq` is assigned here as previous + 1 under a
lock (a PostgreSQL advisory lock; SQLite has a single writer), so the chain has no legitimate gaps.
Appending happens inside the caller's business transaction: the audit record commits with the change
it describes, or not at all. Deleting the newest rows leaves a shorter valid chain; `verify` prints
the head so it can be compared with an anchor kept elsewhere (`gateway audit verify --expect-head`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from gateway.audit.tables import AuditRecord

__all__ = [
    "AuditRecord",
    "ChainBreak",
    "Entry",
    "VerifyResult",
    "append",
    "append_many",
    "chained",
    "count",
    "record_hash",
    "verify",
]
from gateway.context import request_id_var
from gateway.db import utcnow
from signing.canonical import canonical_json
from signing.sm3 import sm3_hex

GENESIS_HASH = "0" * 64


def record_hash(prev_hash: str, record: AuditRecord) -> str:
    body = {
        "seq": record.seq,
        "at": record.at.isoformat(timespec="microseconds"),
        "actor": record.actor,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "before": record.before,
        "after": record.after,
        "request_id": record.request_id,
    }
    return sm3_hex(prev_hash.encode() + b"\n" + canonical_json(body))


_HEAD_KEY = "gateway.audit.head"  # session.info: (transaction, seq, hash) of the last record appended


def _transaction(session: Session) -> object:
    """The innermost transaction: a head cached in an outer one is not trusted inside a savepoint,
    and a head cached inside a savepoint is not trusted after it (released or rolled back)."""
    return session.get_nested_transaction() or session.get_transaction()


def _head(session: Session) -> tuple[int, str]:
    """The chain head, read once per transaction. After the first read the chain is ours until the
    transaction ends (PostgreSQL: the advisory lock is held to commit; SQLite: BEGIN IMMEDIATE makes
    this the only writer), so later appends in the same transaction chain on the cached head instead
    of locking and reading again."""
    cached = session.info.get(_HEAD_KEY)
    current = _transaction(session)
    if cached is not None and cached[0] is current:
        return cached[1], cached[2]
    # Through the connection: no autoflush of the caller's pending objects (audit rows never are).
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # The lock and the head read in one round trip (migration 0018_audit_chain_head says why
        # this takes a function and not one plain statement).
        seq, hash_ = connection.execute(_LOCKED_HEAD_QUERY).one()  # (NULL, NULL): no record yet
        return (seq, hash_) if seq is not None else (0, GENESIS_HASH)
    head = connection.execute(_HEAD_QUERY).first()
    return (head[0], head[1]) if head else (0, GENESIS_HASH)


@dataclass(frozen=True)
class Entry:
    """One record to append with `append_many`."""

    actor: str
    action: str
    object_type: str
    object_id: str
    before: Any = None
    after: Any = None


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Append one record in the caller's transaction (never commits)."""
    row = _write(session, [Entry(actor, action, object_type, object_id, before, after)], at)[0]
    return AuditRecord(**row)


def append_many(session: Session, entries: Sequence[Entry], *, at: datetime | None = None) -> int:
    """Append records in order, chained one to the next, written with one (executemany) INSERT;
    returns the seq of the last one (0 when there was nothing to append)."""
    rows = _write(session, entries, at)
    return int(rows[-1]["seq"]) if rows else 0


def chained(
    session: Session, entries: Sequence[Entry], *, at: datetime | None = None
) -> tuple[Table, list[dict[str, Any]]]:
    """The records as audit_log rows chained onto the head (on PostgreSQL under the chain's lock, held
    to commit), not yet written: the caller INSERTs them into that table in this transaction, before
    anything else appends. `outbox.emit_all(..., alongside=[...])` does, in the statement that writes
    the change's events. Later appends in the transaction chain on the last of them."""
    return _TABLE, _chain(session, entries, at)


def _write(session: Session, entries: Sequence[Entry], at: datetime | None) -> list[dict[str, Any]]:
    """The rows go in through Core, not the unit of work: no flush of the caller's pending objects is
    forced (the audit table has no foreign keys; they are flushed at commit as before), and no ORM
    object is built per record."""
    rows = _chain(session, entries, at)
    if rows:
        session.connection().execute(insert(_TABLE), rows)
    return rows


def _chain(session: Session, entries: Sequence[Entry], at: datetime | None) -> list[dict[str, Any]]:
    if not entries:
        return []
    seq, prev_hash = _head(session)
    moment = at or utcnow()
    request_id = request_id_var.get()
    rows = []
    for entry in entries:
        seq += 1
        row = {
            "seq": seq,
            "at": moment,
            "actor": entry.actor,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "before": None if entry.before is None else canonical_json(entry.before).decode(),
            "after": None if entry.after is None else canonical_json(entry.after).decode(),
            "request_id": request_id,
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = record_hash(prev_hash, SimpleNamespace(**row))  # type: ignore[arg-type]
        rows.append(row)
    session.info[_HEAD_KEY] = (_transaction(session), seq, prev_hash)
    return rows


_TABLE = cast(Table, AuditRecord.__table__)
_HEAD_QUERY = select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
# PostgreSQL: takes the chain's advisory lock (held to commit), then reads the head.
_LOCKED_HEAD_QUERY = text("SELECT head_seq, head_hash FROM audit_chain_head()")


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


@dataclass(frozen=True)
class VerifyResult:
    records: int
    head_seq: int
    head_hash: str
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


def _iterate(session: Session, batch: int) -> Iterator[AuditRecord]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.seq > after).order_by(AuditRecord.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def verify(
    session: Session, *, batch: int = 5000, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    breaks: list[ChainBreak] = []
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for record in _iterate(session, batch):
        count += 1
        if record.seq != expected_seq:
            breaks.append(ChainBreak(record.seq, f"records {expected_seq}..{record.seq - 1} are missing"))
        if record.prev_hash != prev_hash:
            breaks.append(ChainBreak(record.seq, "prev_hash does not match the previous record's hash"))
        if record_hash(record.prev_hash, record) != record.hash:
            breaks.append(ChainBreak(record.seq, "record content does not match its hash (edited)"))
        prev_hash, expected_seq = record.hash, record.seq + 1
        if progress and count % batch == 0:
            progress(count)
    return VerifyResult(records=count, head_seq=expected_seq - 1, head_hash=prev_hash, breaks=breaks)


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)
