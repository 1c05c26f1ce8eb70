"""Reconciliation reports: runs, matches, and the two exception lists, as pages or as CSV/xlsx rows
(gateway.finance.exports). Every query is limited to one center."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import literal, select, tuple_
from sqlalchemy.orm import Session

from gateway.finance.exports import Cell, Column
from gateway.reconciliation import repository
from gateway.reconciliation.errors import RunNotFound
from gateway.reconciliation.schemas import ItemOut, LineOut, MatchOut, RunOut
from gateway.reconciliation.tables import ItemState, Match, Run, StatementLineRow


def run_out(run: Run) -> RunOut:
    return RunOut.model_validate(run, from_attributes=True)


def get_run(session: Session, center: str, run_id: str) -> Run:
    run = session.get(Run, run_id)
    if run is None or run.center_code != center:
        raise RunNotFound(f"run {run_id}")
    return run


def runs(session: Session, center: str, *, after: str, limit: int) -> list[Run]:
    """Newest first; `after` is the last run id of the previous page."""
    query = select(Run).where(Run.center_code == center)
    if after:
        last = session.get(Run, after)
        if last is not None and last.center_code == center:
            query = query.where(tuple_(Run.created_at, Run.id) < tuple_(last.created_at, last.id))
    return list(session.scalars(query.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)))


def line_out(line: StatementLineRow) -> LineOut:
    return LineOut.model_validate(line, from_attributes=True)


def lines(
    session: Session, center: str, *, status: str, after: int, limit: int | None
) -> list[StatementLineRow]:
    query = (
        select(StatementLineRow)
        # The status as a literal: the open lines' index is partial (WHERE status = 'open').
        .where(StatementLineRow.center_code == center)
        .where(StatementLineRow.status == literal(status, literal_execute=True))
        .where(StatementLineRow.id > after)
        .order_by(StatementLineRow.id)
    )
    return list(session.scalars(query if limit is None else query.limit(limit)))


def open_items(session: Session, center: str, *, after: str, limit: int | None) -> list[ItemOut]:
    found = sorted(
        (e for e in repository.escrow_items(session, center) if e.item.item_id > after),
        key=lambda e: e.item.item_id,
    )
    return [
        ItemOut(
            transfer_id=e.item.item_id,
            kind=e.kind,
            direction=e.item.direction,
            amount_fen=e.item.amount_minor,
            currency=e.item.currency,
            bank_reference=e.item.bank_reference,
            counterparty_name=e.item.counterparty_name,
            counterparty_account=e.item.counterparty_account,
            expected_date=e.item.expected_date,
        )
        for e in (found if limit is None else found[:limit])
    ]


def matches(session: Session, center: str, run_id: str, *, after: str, limit: int | None) -> list[MatchOut]:
    get_run(session, center, run_id)
    query = select(Match).where(Match.run_id == run_id, Match.id > after).order_by(Match.id)
    rows = list(session.scalars(query if limit is None else query.limit(limit)))
    ids = [row.id for row in rows]
    line_ids: dict[str, list[int]] = {}
    transfer_ids: dict[str, list[str]] = {row.id: [row.transfer_id] for row in rows if row.transfer_id}
    for chunk in _chunks(ids):
        for line_id, match_id in session.execute(
            select(StatementLineRow.id, StatementLineRow.match_id).where(StatementLineRow.match_id.in_(chunk))
        ):
            line_ids.setdefault(match_id or "", []).append(line_id)
        for transfer_id, match_id in session.execute(  # the items of matches with several
            select(ItemState.transfer_id, ItemState.match_id).where(ItemState.match_id.in_(chunk))
        ):
            transfer_ids.setdefault(match_id or "", []).append(transfer_id)
    return [
        MatchOut(
            id=row.id,
            rule=row.rule,
            outcome=row.outcome,
            note=row.note,
            actor=row.actor,
            created_at=row.created_at,
            line_ids=sorted(line_ids.get(row.id, [])),
            transfer_ids=sorted(transfer_ids.get(row.id, [])),
        )
        for row in rows
    ]


def _chunks(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [values[k : k + size] for k in range(0, len(values), size)]


LINE_COLUMNS = [
    Column("行号 line id"), Column("账号 account"), Column("交易日期 value date"), Column("方向 direction"),
    Column("金额 amount", fen=True), Column("币种 currency"), Column("流水号 bank reference"),
    Column("客户参考号 customer reference"), Column("对方户名 counterparty"),
    Column("对方账号 counterparty account"), Column("摘要 narrative"), Column("位置 location"),
    Column("状态 status"), Column("备注 note"),
]  # fmt: skip


def line_rows(rows: Sequence[LineOut]) -> list[Sequence[Cell]]:
    return [
        (
            r.id,
            r.account,
            r.value_date,
            r.direction,
            r.amount_fen,
            r.currency,
            r.bank_reference,
            r.customer_reference,
            r.counterparty_name,
            r.counterparty_account,
            r.narrative,
            r.source_location,
            r.status,
            r.note,
        )
        for r in rows
    ]


ITEM_COLUMNS = [
    Column("账务流水 transfer id"), Column("类型 kind"), Column("方向 direction"),
    Column("金额 amount", fen=True), Column("币种 currency"), Column("银行参考号 bank reference"),
    Column("对方户名 counterparty"), Column("对方账号 counterparty account"),
    Column("预计日期 expected date"),
]  # fmt: skip


def item_rows(rows: Sequence[ItemOut]) -> list[Sequence[Cell]]:
    return [
        (
            r.transfer_id,
            r.kind,
            r.direction,
            r.amount_fen,
            r.currency,
            r.bank_reference,
            r.counterparty_name,
            r.counterparty_account,
            r.expected_date,
        )
        for r in rows
    ]


MATCH_COLUMNS = [
    Column("匹配 match id"), Column("规则 rule"), Column("结果 outcome"), Column("对账单行 line ids"),
    Column("账务流水 transfer ids"), Column("操作人 actor"), Column("时间 time"), Column("备注 note"),
]  # fmt: skip


def match_rows(rows: Sequence[MatchOut]) -> list[Sequence[Cell]]:
    return [
        (
            r.id,
            r.rule,
            r.outcome,
            " ".join(map(str, r.line_ids)),
            " ".join(r.transfer_ids),
            r.actor,
            r.created_at,
            r.note,
        )
        for r in rows
    ]
