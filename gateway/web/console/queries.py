"""Reads the console needs beyond the finance API's lists: totals by section and status, one object with
its history, a batch's state counts in one query. Every read takes the center and finds only its rows
(another center's object is None, which the page shows as not found)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.deposits import rules
from gateway.deposits.tables import Deposit, DepositException, RefundBatch, RefundInstruction
from gateway.sections.tables import Section

PAGE: int = 50


@dataclass
class SectionTotals:
    section_code: str
    section_name: str
    by_status: dict[str, tuple[int, int]] = field(default_factory=dict)  # status -> (count, fen)

    @property
    def count(self) -> int:
        return sum(count for count, _fen in self.by_status.values())

    @property
    def held_fen(self) -> int:
        """What is still owed to bidders (not refunded, not forfeited)."""
        return sum(fen for status, (_count, fen) in self.by_status.items() if status in rules.ACTIVE)


def deposit_totals(session: Session, center: str) -> list[SectionTotals]:
    rows = session.execute(
        select(Deposit.section_code, Section.name, Deposit.status, func.count(), func.sum(Deposit.amount_fen))
        .join(Section, Section.code == Deposit.section_code)
        .where(Deposit.center_code == center)
        .group_by(Deposit.section_code, Section.name, Deposit.status)
        .order_by(Deposit.section_code)
    ).all()
    totals: dict[str, SectionTotals] = {}
    for code, name, status, count, fen in rows:
        totals.setdefault(code, SectionTotals(code, name)).by_status[status] = (int(count), int(fen or 0))
    return list(totals.values())


def center_sections(session: Session, center: str) -> list[tuple[str, str]]:
    """(code, name) of the center's sections, for filters and the assign form."""
    rows = session.execute(
        select(Section.code, Section.name).where(Section.center_code == center).order_by(Section.code)
    ).all()
    return [(code, name) for code, name in rows]


def deposits(
    session: Session, center: str, *, section: str = "", status: str = "", after: str = "", limit: int = PAGE
) -> Sequence[Deposit]:
    query = select(Deposit).where(Deposit.center_code == center, Deposit.id > after)
    if section:
        query = query.where(Deposit.section_code == section)
    if status:
        query = query.where(Deposit.status == status)
    return session.scalars(query.order_by(Deposit.id).limit(limit)).all()


def deposit(session: Session, center: str, deposit_id: str) -> Deposit | None:
    row = session.get(Deposit, deposit_id)
    return row if row is not None and row.center_code == center else None


def instructions_of_deposit(session: Session, deposit_id: str) -> Sequence[RefundInstruction]:
    return session.scalars(
        select(RefundInstruction)
        .where(RefundInstruction.deposit_id == deposit_id)
        .order_by(RefundInstruction.created_at, RefundInstruction.id)
    ).all()


def exception_counts(session: Session, center: str) -> dict[str, int]:
    rows = session.execute(
        select(DepositException.status, func.count())
        .where(DepositException.center_code == center)
        .group_by(DepositException.status)
    ).all()
    return {status: int(count) for status, count in rows}


def exceptions(
    session: Session, center: str, *, status: str = "", after: str = "", limit: int = PAGE
) -> Sequence[DepositException]:
    query = select(DepositException).where(
        DepositException.center_code == center, DepositException.id > after
    )
    if status:
        query = query.where(DepositException.status == status)
    return session.scalars(query.order_by(DepositException.id).limit(limit)).all()


def exception(session: Session, center: str, exception_id: str) -> DepositException | None:
    row = session.get(DepositException, exception_id)
    return row if row is not None and row.center_code == center else None


def instruction(session: Session, center: str, instruction_id: str | None) -> RefundInstruction | None:
    row = session.get(RefundInstruction, instruction_id) if instruction_id else None
    return row if row is not None and row.center_code == center else None


@dataclass(frozen=True)
class Due:
    deposit: Deposit
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def refunds_due(session: Session, center: str, *, today: date) -> list[Due]:
    """Deposits owed back and not yet paid, by due date (the same rows as the API's /refunds/due)."""
    rows = session.scalars(
        select(Deposit)
        .where(
            Deposit.center_code == center,
            Deposit.status.in_((rules.REFUNDABLE, rules.REFUND_PENDING)),
            Deposit.refund_due_on.is_not(None),
        )
        .order_by(Deposit.refund_due_on, Deposit.id)
    ).all()
    return [Due(row, (row.refund_due_on - today).days) for row in rows if row.refund_due_on is not None]


@dataclass(frozen=True)
class BatchSummary:
    batch: RefundBatch
    count: int
    total_fen: int
    states: dict[str, int]


def _summaries(session: Session, batches: Sequence[RefundBatch]) -> list[BatchSummary]:
    ids = [batch.id for batch in batches]
    if not ids:
        return []
    rows = session.execute(
        select(
            RefundInstruction.batch_id,
            RefundInstruction.status,
            func.count(),
            func.sum(RefundInstruction.amount_fen),
        )
        .where(RefundInstruction.batch_id.in_(ids))
        .group_by(RefundInstruction.batch_id, RefundInstruction.status)
    ).all()
    states: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for batch_id, status, count, fen in rows:
        assert batch_id is not None  # selected by batch id
        states.setdefault(batch_id, {})[status] = int(count)
        totals[batch_id] = totals.get(batch_id, 0) + int(fen or 0)
    return [
        BatchSummary(b, sum(states.get(b.id, {}).values()), totals.get(b.id, 0), states.get(b.id, {}))
        for b in batches
    ]


def batches(session: Session, center: str, *, limit: int = 200) -> list[BatchSummary]:
    """The center's latest refund batches, newest first (older ones: the export has them all)."""
    rows = session.scalars(
        select(RefundBatch)
        .where(RefundBatch.center_code == center)
        .order_by(RefundBatch.created_at.desc(), RefundBatch.id.desc())
        .limit(limit)
    ).all()
    return _summaries(session, rows)


def batch(
    session: Session, center: str, batch_id: str
) -> tuple[BatchSummary, Sequence[RefundInstruction]] | None:
    row = session.get(RefundBatch, batch_id)
    if row is None or row.center_code != center:
        return None
    instructions = session.scalars(
        select(RefundInstruction).where(RefundInstruction.batch_id == batch_id).order_by(RefundInstruction.id)
    ).all()
    return _summaries(session, [row])[0], instructions


def refundable(session: Session, center: str) -> Sequence[Deposit]:
    """Deposits a new refund batch would take (all of them unless finance picks some)."""
    return session.scalars(
        select(Deposit)
        .where(Deposit.center_code == center, Deposit.status == rules.REFUNDABLE)
        .order_by(Deposit.refund_due_on, Deposit.id)
    ).all()


def instruction_ids(session: Session, batch_id: str, status: str) -> list[str]:
    return list(
        session.scalars(
            select(RefundInstruction.id)
            .where(RefundInstruction.batch_id == batch_id, RefundInstruction.status == status)
            .order_by(RefundInstruction.id)
        )
    )
