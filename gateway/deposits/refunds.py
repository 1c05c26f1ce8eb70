"""Refunds: batches of instructions to the escrow bank, as two-phase ledger transfers.

1. `create_refund_batch` (one transaction): for each refundable deposit, accrue the interest owed up
   to the refund date (only what was not accrued before: a refund that failed and is retried later
   accrues the extra days), then hold deposit and interest as pending transfers out of the escrow
   account. The instruction id is the reference sent to the bank and the ledger's `bank_ref`.
2. `send_instructions` (no transaction around the bank call): hand each created instruction to the
   escrow adapter; an instruction refused at sending is settled as failed at once.
3. `settle_instruction` (the caller's transaction): the bank's payment result, or a statement line
   found by reconciliation, posts the holds (paid) or voids them (failed: the deposit is refundable
   again, a returned exception is open again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contracts.escrow import EscrowBank, EscrowBankUnavailable, InstructionState, PaymentInstruction
from gateway.audit import service as audit
from gateway.bookkeeping import postings
from gateway.db import transaction
from gateway.deposits import errors, rules
from gateway.deposits.ledgering import bank_meta, write
from gateway.deposits.service import close_exception, escrow_of_center, lock_open_exception, new_id
from gateway.deposits.tables import Deposit, DepositException, RefundBatch, RefundInstruction
from gateway.finance.interest import RateTable, interest_fen
from gateway.outbox.service import emit
from ledger import InsufficientFunds

log = logging.getLogger("gateway.deposits")
CREATED, SENT, SUCCEEDED, FAILED = "created", "sent", "succeeded", "failed"


def hold_ids(instruction: RefundInstruction) -> list[str]:
    """The pending transfers an instruction holds (their ids are derived, never stored)."""
    if instruction.kind == "return":
        return [f"{instruction.id}:return"]
    return [f"{instruction.id}:deposit"] + (
        [f"{instruction.id}:interest"] if instruction.interest_fen else []
    )


def create_refund_batch(
    session: Session,
    *,
    center: str,
    actor: str,
    now: datetime,
    rates: RateTable,
    basis: int,
    refund_date: date | None = None,
    deposit_ids: Sequence[str] | None = None,
) -> RefundBatch:
    escrow_of_center(session, center)  # refunds need somewhere to pay from
    day = refund_date or rules.local_date(now)
    query = select(Deposit).where(Deposit.center_code == center, Deposit.status == rules.REFUNDABLE)
    if deposit_ids is not None:
        query = query.where(Deposit.id.in_(list(deposit_ids)))
    deposits = session.scalars(query.order_by(Deposit.id).with_for_update()).all()
    if not deposits or (deposit_ids is not None and len(deposits) != len(set(deposit_ids))):
        raise errors.NothingToRefund(
            "no refundable deposit" if not deposits else "some of the named deposits are not refundable here"
        )
    batch = RefundBatch(
        id=new_id("rb"), center_code=center, refund_date=day, created_by=actor, created_at=now
    )
    session.add(batch)
    session.flush()
    try:
        for deposit in deposits:
            _refund(session, batch, deposit, day=day, now=now, rates=rates, basis=basis)
        audit.append(
            session,
            actor=actor,
            action="refund_batch.create",
            object_type="refund_batch",
            object_id=batch.id,
            after={"deposits": [d.id for d in deposits], "refund_date": day.isoformat()},
            at=now,
        )
    except InsufficientFunds as exc:
        # The interest is paid from the escrow account too; it is funded by the bank's interest
        # credits (结息, `record_interest_credit`). Refuse the whole batch rather than part of it.
        raise errors.EscrowShortOfFunds(
            f"{exc.message}; record the escrow bank's interest credits before refunding"
        ) from exc
    session.flush()
    return batch


def _refund(
    session: Session,
    batch: RefundBatch,
    deposit: Deposit,
    *,
    day: date,
    now: datetime,
    rates: RateTable,
    basis: int,
) -> RefundInstruction:
    instruction_id = new_id("ri")
    owed = interest_fen(
        deposit.amount_fen, deposit.value_date, max(day, deposit.value_date), rates, basis=basis
    )
    extra = owed - deposit.interest_accrued_fen
    if extra > 0:
        write(
            session,
            postings.interest_accrual(
                id=f"{instruction_id}:accrual",
                center=deposit.center_code,
                uscc=deposit.bidder_uscc,
                section=deposit.section_code,
                amount=extra,
                meta={"deposit_id": deposit.id, "to": day.isoformat()},
            ),
            now,
        )
        deposit.interest_accrued_fen = owed
    interest = deposit.interest_accrued_fen
    instruction = RefundInstruction(
        id=instruction_id,
        batch_id=batch.id,
        center_code=deposit.center_code,
        kind="refund",
        deposit_id=deposit.id,
        payee_name=deposit.payer_name,
        payee_account=deposit.payer_account,
        principal_fen=deposit.amount_fen,
        interest_fen=interest,
        amount_fen=deposit.amount_fen + interest,
        value_date=day,
        status=CREATED,
        created_at=now,
    )
    session.add(instruction)
    meta = bank_meta(
        bank_ref=instruction_id,
        counterparty_account=deposit.payer_account,
        counterparty_name=deposit.payer_name,
        value_date=day,
        deposit_id=deposit.id,
    )
    write(
        session,
        postings.refund_instruction(
            id=instruction_id,
            center=deposit.center_code,
            uscc=deposit.bidder_uscc,
            section=deposit.section_code,
            deposit=deposit.amount_fen,
            interest=interest,
            meta=meta,
        ),
        now,
    )
    deposit.status, deposit.updated_at = rules.REFUND_PENDING, now
    return instruction


def return_exception(
    session: Session, exception_id: str, *, center: str, note: str, actor: str, now: datetime
) -> RefundInstruction:
    """Finance sends unmatched money back to whoever paid it (no interest: it was never a deposit)."""
    row = lock_open_exception(session, exception_id, center)
    escrow_of_center(session, center)
    day = rules.local_date(now)
    instruction = RefundInstruction(
        id=new_id("ri"),
        batch_id=None,
        center_code=center,
        kind="return",
        exception_id=row.id,
        payee_name=row.payer_name,
        payee_account=row.payer_account,
        principal_fen=row.amount_fen,
        interest_fen=0,
        amount_fen=row.amount_fen,
        value_date=day,
        status=CREATED,
        created_at=now,
    )
    session.add(instruction)
    meta = bank_meta(
        bank_ref=instruction.id,
        counterparty_account=row.payer_account,
        counterparty_name=row.payer_name,
        value_date=day,
        exception_id=row.id,
    )
    write(
        session,
        postings.suspense_return(
            id=f"{instruction.id}:return", center=center, amount=row.amount_fen, meta=meta
        ),
        now,
    )
    row.instruction_id = instruction.id
    close_exception(
        session, row, status="returning", action="return", note=note, actor=actor, now=now,
        after={"instruction_id": instruction.id},
    )  # fmt: skip
    session.flush()
    return instruction


def send_instructions(
    sessions: sessionmaker[Session], bank: EscrowBank, ids: Iterable[str], *, clock: Callable[[], datetime]
) -> dict[str, str]:
    """Send created instructions to the bank, one by one, outside any transaction. Returns id -> status.
    An unreachable bank leaves the instruction `created` (send again later)."""
    result: dict[str, str] = {}
    for instruction_id in ids:
        with sessions() as session:
            row = session.get(RefundInstruction, instruction_id)
            if row is None or row.status != CREATED:
                continue
            escrow = escrow_of_center(session, row.center_code)
            message = PaymentInstruction(
                instruction_id=row.id,
                debit_account=escrow.account_no,
                payee_name=row.payee_name,
                payee_account=row.payee_account,
                amount_fen=row.amount_fen,
                value_date=row.value_date,
                remark="投标保证金退还" if row.kind == "refund" else "保证金退回",
            )
        try:
            ack = bank.send(message)
        except EscrowBankUnavailable:
            log.warning("escrow bank unavailable; instruction %s stays created", instruction_id)
            result[instruction_id] = CREATED
            continue
        with transaction(sessions) as session:
            now = clock()
            if ack.accepted:
                row = session.scalar(
                    select(RefundInstruction).where(RefundInstruction.id == instruction_id).with_for_update()
                )
                assert row is not None
                if row.status == CREATED:
                    row.status, row.sent_at = SENT, now
                result[instruction_id] = row.status
            else:
                settled = settle_instruction(
                    session,
                    instruction_id,
                    succeeded=False,
                    bank_reference="",
                    now=now,
                    reason=ack.reason or "refused by the bank",
                )
                result[instruction_id] = settled.status
    return result


def settle_instruction(
    session: Session,
    instruction_id: str,
    *,
    succeeded: bool,
    bank_reference: str,
    now: datetime,
    reason: str | None = None,
) -> RefundInstruction:
    """The instruction's outcome, from the bank's payment result or a statement line: post the holds
    (paid) or void them (failed). The same outcome again changes nothing; the other one is a conflict."""
    row = session.scalar(
        select(RefundInstruction).where(RefundInstruction.id == instruction_id).with_for_update()
    )
    if row is None:
        raise errors.InstructionNotFound(f"no refund instruction {instruction_id!r}")
    if row.status in (SUCCEEDED, FAILED):
        if (row.status == SUCCEEDED) == succeeded:
            return row
        raise errors.InstructionAlreadySettled(f"instruction {instruction_id} already {row.status}")
    for hold in hold_ids(row):
        posting = (
            postings.settle(id=f"{hold}:post", hold_id=hold)
            if succeeded
            else postings.cancel(id=f"{hold}:void", hold_id=hold)
        )
        write(session, posting, now)
    row.status = SUCCEEDED if succeeded else FAILED
    row.bank_reference = bank_reference or row.bank_reference
    row.failure_reason = None if succeeded else (reason or "failed at the bank")
    row.settled_at = now
    if row.kind == "refund":
        _settle_deposit(session, row, succeeded=succeeded, now=now)
    else:
        exception = session.get(DepositException, row.exception_id)
        assert exception is not None
        exception.status = "returned" if succeeded else "open"
        exception.updated_at = now
    session.flush()
    return row


def _settle_deposit(session: Session, row: RefundInstruction, *, succeeded: bool, now: datetime) -> None:
    deposit = session.get(Deposit, row.deposit_id)
    assert deposit is not None
    deposit.updated_at = now
    if not succeeded:
        deposit.status = rules.REFUNDABLE  # a later batch tries again (with the extra days' interest)
        return
    deposit.status, deposit.refunded_at = rules.REFUNDED, now
    emit(
        session,
        "deposit.refunded",
        {
            "deposit_id": deposit.id,
            "section_code": deposit.section_code,
            "bidder_uscc": deposit.bidder_uscc,
            "principal_fen": row.principal_fen,
            "interest_fen": row.interest_fen,
            "instruction_id": row.id,
            "refunded_on": row.value_date.isoformat(),
        },
        center=deposit.center_code,
    )


def poll_sent(
    sessions: sessionmaker[Session], bank: EscrowBank, ids: Iterable[str], *, clock: Callable[[], datetime]
) -> dict[str, str]:
    """Ask the bank about sent instructions (a payment result that never arrived) and settle the
    ones it reports final. The query runs outside any transaction. Returns id -> status."""
    result: dict[str, str] = {}
    for instruction_id in ids:
        with sessions() as session:
            row = session.get(RefundInstruction, instruction_id)
            if row is None or row.status != SENT:
                continue
        try:
            status = bank.status(instruction_id)
        except EscrowBankUnavailable:
            result[instruction_id] = SENT
            continue
        if status.state not in (InstructionState.SUCCEEDED, InstructionState.FAILED):
            result[instruction_id] = SENT
            continue
        with transaction(sessions) as session:
            settled = settle_instruction(
                session,
                instruction_id,
                succeeded=status.state == InstructionState.SUCCEEDED,
                bank_reference=status.bank_reference or "",
                now=clock(),
                reason=status.reason,
            )
            result[instruction_id] = settled.status
    return result
