"""The finance API for cash deposits (`/finance/v1`, bearer role finance; subject = center code).

Object-level: finance sees its own center's deposits, exceptions and refunds only; anyone else's are
404. Lists take `?format=csv|xlsx` for a download (gateway.finance.exports) instead of JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.composition import Container, container_of
from gateway.db import transaction
from gateway.deposits import errors, refunds, rules, service
from gateway.deposits.schemas import (
    AssignIn,
    BatchIn,
    BatchOut,
    DepositOut,
    ExceptionOut,
    ForfeitIn,
    InstructionOut,
    InterestCreditIn,
    InterestCreditOut,
    RefundDueOut,
    ReturnIn,
)
from gateway.deposits.tables import Deposit, DepositException, RefundBatch, RefundInstruction
from gateway.finance.downloads import download
from gateway.finance.exports import CONTENT_TYPES, Cell, Column
from gateway.finance.interest import RateTable
from gateway.http.schemas import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/finance/v1",
    tags=["finance"],
    responses={code: PROBLEM_RESPONSES[code] for code in (401, 403, 404, 409)},
)
Finance = Annotated[Caller, Depends(require_role("finance"))]
Id = Annotated[str, Path(min_length=1, max_length=40)]
Format = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, or a csv / xlsx download")]
Limit = Annotated[int, Query(ge=1, le=10_000)]
_FILE: dict[str, Any] = {"content": {CONTENT_TYPES["csv"]: {}, CONTENT_TYPES["xlsx"]: {}}}


def rate_table(container: Container) -> RateTable:
    return RateTable.of(container.settings.deposit_rates_ppm.items())


DEPOSIT_COLUMNS = (
    Column("保证金编号 deposit"),
    Column("标段 section"),
    Column("投标人 USCC"),
    Column("投标人 bidder"),
    Column("子账号 sub-account"),
    Column("金额 amount", fen=True),
    Column("已计利息 interest", fen=True),
    Column("付款人 payer"),
    Column("付款账号 payer account"),
    Column("银行流水 bank ref"),
    Column("起息日 value date"),
    Column("状态 status"),
    Column("应退日 due"),
)


def _deposit_row(row: Deposit | DepositOut) -> list[Cell]:
    """A deposit's export row, from the table row or from its API form (same fields)."""
    return [
        row.id,
        row.section_code,
        row.bidder_uscc,
        row.bidder_name,
        row.subaccount,
        row.amount_fen,
        row.interest_accrued_fen,
        row.payer_name,
        row.payer_account,
        row.bank_reference,
        row.value_date,
        row.status,
        row.refund_due_on,
    ]


@router.get("/deposits", response_model=list[DepositOut], responses={200: _FILE})
def list_deposits(
    request: Request,
    caller: Finance,
    section: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    after: Annotated[str, Query(max_length=40)] = "",
    limit: Limit = 1000,
    format: Format = "json",  # noqa: A002
) -> list[DepositOut] | Response:
    """Your center's cash deposits by section and status (held, locked, refundable, refund_pending,
    refunded, forfeited), by id."""
    with container_of(request).sessions() as session:
        query = select(Deposit).where(Deposit.center_code == caller.subject, Deposit.id > after)
        if section:
            query = query.where(Deposit.section_code == section)
        if status:
            query = query.where(Deposit.status == status)
        rows = session.scalars(query.order_by(Deposit.id).limit(limit)).all()
        if format != "json":
            return download(format, "deposits", DEPOSIT_COLUMNS, [_deposit_row(row) for row in rows])
        return [DepositOut.model_validate(row) for row in rows]


@router.get("/deposits/{deposit_id}", response_model=DepositOut)
def get_deposit(deposit_id: Id, request: Request, caller: Finance) -> DepositOut:
    with container_of(request).sessions() as session:
        row = session.get(Deposit, deposit_id)
        if row is None or row.center_code != caller.subject:
            raise errors.DepositNotFound(f"no deposit {deposit_id!r}")
        return DepositOut.model_validate(row)


@router.post("/deposits/{deposit_id}/forfeit", response_model=DepositOut)
def forfeit(deposit_id: Id, body: ForfeitIn, request: Request, caller: Finance) -> DepositOut:
    """Forfeit (没收) a deposit: a claim upheld, or the bidder withdrew after opening. The deposit
    becomes owed to the tenderee instead of the bidder. Only a deposit not yet on its way back."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        row = service.forfeit_deposit(
            session,
            deposit_id,
            center=caller.subject,
            reason=body.reason,
            actor=caller.key,
            now=container.clock(),
        )
        return DepositOut.model_validate(row)


EXCEPTION_COLUMNS = (
    Column("编号 exception"),
    Column("原因 reason"),
    Column("说明 detail"),
    Column("金额 amount", fen=True),
    Column("付款人 payer"),
    Column("付款账号 payer account"),
    Column("银行流水 bank ref"),
    Column("起息日 value date"),
    Column("标段 section"),
    Column("投标人 USCC"),
    Column("状态 status"),
    Column("处理说明 note"),
)


@router.get("/deposit-exceptions", response_model=list[ExceptionOut], responses={200: _FILE})
def list_exceptions(
    request: Request,
    caller: Finance,
    status: Annotated[str | None, Query(max_length=20)] = "open",
    after: Annotated[str, Query(max_length=40)] = "",
    limit: Limit = 1000,
    format: Format = "json",  # noqa: A002
) -> list[ExceptionOut] | Response:
    """The exception queue: money on the escrow account that matched no deposit (status `open` by
    default; `assigned`, `returning`, `returned`; empty for all)."""
    with container_of(request).sessions() as session:
        query = select(DepositException).where(
            DepositException.center_code == caller.subject, DepositException.id > after
        )
        if status:
            query = query.where(DepositException.status == status)
        rows = session.scalars(query.order_by(DepositException.id).limit(limit)).all()
        if format != "json":
            data = [
                [
                    r.id,
                    r.reason,
                    r.detail,
                    r.amount_fen,
                    r.payer_name,
                    r.payer_account,
                    r.bank_reference,
                    r.value_date,
                    r.section_code,
                    r.bidder_uscc,
                    r.status,
                    r.resolution_note,
                ]
                for r in rows
            ]
            return download(format, "deposit-exceptions", EXCEPTION_COLUMNS, data)
        return [ExceptionOut.model_validate(row) for row in rows]


@router.post("/deposit-exceptions/{exception_id}/assign", response_model=DepositOut)
def assign_exception(exception_id: Id, body: AssignIn, request: Request, caller: Finance) -> DepositOut:
    """Match the money by hand to a bidder and section: it becomes that bidder's deposit."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        row = service.assign_exception(
            session,
            exception_id,
            center=caller.subject,
            section_code=body.section_code,
            bidder_uscc=body.bidder_uscc,
            bidder_name=body.bidder_name,
            note=body.note,
            actor=caller.key,
            now=container.clock(),
        )
        return DepositOut.model_validate(row)


@router.post("/deposit-exceptions/{exception_id}/return", response_model=InstructionOut)
def return_exception(exception_id: Id, body: ReturnIn, request: Request, caller: Finance) -> InstructionOut:
    """Send the money back to the account it came from (an instruction to the escrow bank)."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        instruction = refunds.return_exception(
            session,
            exception_id,
            center=caller.subject,
            note=body.note,
            actor=caller.key,
            now=container.clock(),
        )
        instruction_id = instruction.id
    refunds.send_instructions(container.sessions, container.escrow(), [instruction_id], clock=container.clock)
    with container.sessions() as session:
        return InstructionOut.model_validate(session.get(RefundInstruction, instruction_id))


@router.get("/refunds/due", response_model=list[RefundDueOut], responses={200: _FILE})
def refunds_due(
    request: Request,
    caller: Finance,
    overdue: Annotated[bool | None, Query(description="only overdue (true) or only not yet (false)")] = None,
    format: Format = "json",  # noqa: A002
) -> list[RefundDueOut] | Response:
    """Deposits owed back and not yet refunded, by due date: the law gives 5 calendar days from
    contract signing. `overdue` when the due date has passed (Asia/Shanghai)."""
    container = container_of(request)
    today = rules.local_date(container.clock())
    with container.sessions() as session:
        query = select(Deposit).where(
            Deposit.center_code == caller.subject,
            Deposit.status.in_((rules.REFUNDABLE, rules.REFUND_PENDING)),
            Deposit.refund_due_on.is_not(None),
        )
        if overdue is True:
            query = query.where(Deposit.refund_due_on < today)
        elif overdue is False:
            query = query.where(Deposit.refund_due_on >= today)
        rows = session.scalars(query.order_by(Deposit.refund_due_on, Deposit.id)).all()
        out = [_due(row, today) for row in rows]
    if format != "json":
        columns = (*DEPOSIT_COLUMNS, Column("逾期 overdue"), Column("剩余天数 days left"))
        data = [[*_deposit_row(item.deposit), "是" if item.overdue else "否", item.days_left] for item in out]
        return download(format, "refunds-due", columns, data)
    return out


def _due(row: Deposit, today: date) -> RefundDueOut:
    assert row.refund_due_on is not None
    left = (row.refund_due_on - today).days
    return RefundDueOut(deposit=DepositOut.model_validate(row), overdue=left < 0, days_left=left)


def _batch_out(session: Session, batch: RefundBatch, *, detail: bool) -> BatchOut:
    instructions = session.scalars(
        select(RefundInstruction).where(RefundInstruction.batch_id == batch.id).order_by(RefundInstruction.id)
    ).all()
    states: dict[str, int] = {}
    for row in instructions:
        states[row.status] = states.get(row.status, 0) + 1
    return BatchOut(
        id=batch.id,
        refund_date=batch.refund_date,
        created_by=batch.created_by,
        created_at=batch.created_at,
        count=len(instructions),
        total_fen=sum(row.amount_fen for row in instructions),
        states=states,
        instructions=[InstructionOut.model_validate(row) for row in instructions] if detail else None,
    )


@router.post("/refund-batches", response_model=BatchOut, status_code=201)
def create_batch(body: BatchIn, request: Request, caller: Finance) -> BatchOut:
    """Refund every refundable deposit of your center (or the named ones) with interest to the
    refund date (default today), as one batch of instructions; then send them to the escrow bank.
    Instructions the bank refuses at once are `failed` (their deposits refundable again); ones it
    cannot be reached for stay `created` (send again with `POST .../send`)."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        batch = refunds.create_refund_batch(
            session,
            center=caller.subject,
            actor=caller.key,
            now=container.clock(),
            rates=rate_table(container),
            basis=container.settings.deposit_interest_basis,
            refund_date=body.refund_date,
            deposit_ids=body.deposit_ids,
        )
        batch_id = batch.id
        ids = _created_ids(session, batch_id)
    refunds.send_instructions(container.sessions, container.escrow(), ids, clock=container.clock)
    return _read_batch(container, caller, batch_id)


def _created_ids(session: Session, batch_id: str) -> list[str]:
    return list(
        session.scalars(
            select(RefundInstruction.id)
            .where(RefundInstruction.batch_id == batch_id, RefundInstruction.status == refunds.CREATED)
            .order_by(RefundInstruction.id)
        )
    )


def _read_batch(container: Container, caller: Caller, batch_id: str) -> BatchOut:
    with container.sessions() as session:
        batch = session.get(RefundBatch, batch_id)
        if batch is None or batch.center_code != caller.subject:
            raise errors.BatchNotFound(f"no refund batch {batch_id!r}")
        return _batch_out(session, batch, detail=True)


@router.post("/refund-batches/{batch_id}/send", response_model=BatchOut)
def send_batch(batch_id: Id, request: Request, caller: Finance) -> BatchOut:
    """Send the batch's instructions that have not reached the bank yet."""
    container = container_of(request)
    with container.sessions() as session:
        batch = session.get(RefundBatch, batch_id)
        if batch is None or batch.center_code != caller.subject:
            raise errors.BatchNotFound(f"no refund batch {batch_id!r}")
        ids = _created_ids(session, batch_id)
    refunds.send_instructions(container.sessions, container.escrow(), ids, clock=container.clock)
    return _read_batch(container, caller, batch_id)


@router.post("/refund-batches/{batch_id}/poll", response_model=BatchOut)
def poll_batch(batch_id: Id, request: Request, caller: Finance) -> BatchOut:
    """Ask the escrow bank for the outcome of the batch's sent instructions whose payment result has
    not arrived, and settle the ones it reports paid or failed."""
    container = container_of(request)
    with container.sessions() as session:
        batch = session.get(RefundBatch, batch_id)
        if batch is None or batch.center_code != caller.subject:
            raise errors.BatchNotFound(f"no refund batch {batch_id!r}")
        ids = list(
            session.scalars(
                select(RefundInstruction.id).where(
                    RefundInstruction.batch_id == batch_id, RefundInstruction.status == refunds.SENT
                )
            )
        )
    refunds.poll_sent(container.sessions, container.escrow(), ids, clock=container.clock)
    return _read_batch(container, caller, batch_id)


BATCH_COLUMNS = (
    Column("批次 batch"),
    Column("退款日 refund date"),
    Column("创建人 created by"),
    Column("创建时间 created at"),
    Column("笔数 count"),
    Column("金额 total", fen=True),
    Column("状态 states"),
)


@router.get("/refund-batches", response_model=list[BatchOut], responses={200: _FILE})
def list_batches(
    request: Request,
    caller: Finance,
    after: Annotated[str, Query(max_length=40)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Format = "json",  # noqa: A002
) -> list[BatchOut] | Response:
    with container_of(request).sessions() as session:
        batches = session.scalars(
            select(RefundBatch)
            .where(RefundBatch.center_code == caller.subject, RefundBatch.id > after)
            .order_by(RefundBatch.id)
            .limit(limit)
        ).all()
        out = [_batch_out(session, batch, detail=False) for batch in batches]
    if format != "json":
        data: list[list[Cell]] = [
            [
                b.id,
                b.refund_date,
                b.created_by,
                b.created_at,
                b.count,
                b.total_fen,
                " ".join(f"{k}={v}" for k, v in sorted(b.states.items())),
            ]
            for b in out
        ]
        return download(format, "refund-batches", BATCH_COLUMNS, data)
    return out


@router.get("/refund-batches/{batch_id}", response_model=BatchOut, responses={200: _FILE})
def get_batch(
    batch_id: Id,
    request: Request,
    caller: Finance,
    format: Format = "json",  # noqa: A002
) -> BatchOut | Response:
    """A batch with its instructions and their states (`?format=` exports the instructions)."""
    out = _read_batch(container_of(request), caller, batch_id)
    if format == "json":
        return out
    columns = (
        Column("指令 instruction"),
        Column("保证金 deposit"),
        Column("收款人 payee"),
        Column("收款账号 account"),
        Column("本金 principal", fen=True),
        Column("利息 interest", fen=True),
        Column("金额 amount", fen=True),
        Column("状态 status"),
        Column("银行流水 bank ref"),
        Column("失败原因 reason"),
    )
    data = [
        [
            i.id,
            i.deposit_id,
            i.payee_name,
            i.payee_account,
            i.principal_fen,
            i.interest_fen,
            i.amount_fen,
            i.status,
            i.bank_reference,
            i.failure_reason,
        ]
        for i in out.instructions or []
    ]
    return download(format, f"refund-batch-{batch_id}", columns, data)


@router.post("/escrow-interest-credits", response_model=InterestCreditOut, status_code=201)
def record_interest_credit(body: InterestCreditIn, request: Request, caller: Finance) -> InterestCreditOut:
    """Record the escrow bank's interest credit (结息) on your escrow account, from its statement. It
    funds the interest paid back with refunds. Idempotent by `bank_reference`."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        transfer_id = service.record_interest_credit(
            session,
            center=caller.subject,
            bank_reference=body.bank_reference,
            amount_fen=body.amount_fen,
            value_date=body.value_date,
            actor=caller.key,
            now=container.clock(),
        )
    return InterestCreditOut(transfer_id=transfer_id)
