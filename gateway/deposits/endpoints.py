"""The bidder's deposit account (`/v1`) and the escrow bank's messages (`/bank/v1`, SM2-signed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.composition import container_of
from gateway.db import transaction
from gateway.deposits import errors, refunds, service
from gateway.deposits.schemas import (
    DepositAccountOut,
    DepositNoticeIn,
    DepositNoticeOut,
    InstructionOut,
    PaymentResultIn,
)
from gateway.deposits.tables import RefundInstruction
from gateway.http.schemas import PROBLEM_RESPONSES

bidder_router = APIRouter(prefix="/v1", tags=["deposits"])
bank_router = APIRouter(prefix="/bank/v1", tags=["escrow_bank"])
SectionCode = Annotated[str, Path(min_length=1, max_length=64)]
_PROBLEMS: dict[int | str, dict[str, Any]] = {code: PROBLEM_RESPONSES[code] for code in (401, 403, 404, 409)}


@bidder_router.get("/sections/{code}/deposit-account", response_model=DepositAccountOut, responses=_PROBLEMS)
def get_deposit_account(
    code: SectionCode, request: Request, caller: Caller = Depends(require_role("bidder"))
) -> DepositAccountOut:
    """Where to pay a cash bid deposit for this section: your own virtual sub-account of the center's
    escrow account (the same one every time), the amount due and the deadline for it to arrive."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        view = service.deposit_account(
            session,
            section_code=code,
            bidder_uscc=caller.subject,
            bidder_name=caller.name,
            now=container.clock(),
        )
        return DepositAccountOut(
            section_code=view.section.code,
            subaccount=view.subaccount,
            account_name=view.escrow.account_name,
            bank_name=view.escrow.bank_name,
            escrow_account_no=view.escrow.account_no,
            amount_due_fen=view.section.deposit_fen,
            bid_deadline_at=view.section.bid_deadline_at,
        )


@bank_router.post("/deposit-notices", response_model=DepositNoticeOut, responses=_PROBLEMS)
def post_deposit_notice(
    body: DepositNoticeIn, request: Request, caller: Caller = Depends(require_role("bank"))
) -> DepositNoticeOut:
    """Money arrived on a sub-account. Idempotent by `bank_reference`: the same notice again returns
    the first outcome (`replayed: true`); the same reference with other content is 409. Odd money
    (unknown sub-account, wrong amount, late, payer not the bidder, a second deposit) is accepted
    into the exception queue: `outcome: exception` with the `reason`."""
    container = container_of(request)
    outcome = service.receive_notice(
        container.sessions,
        service.Notice(
            bank_reference=body.bank_reference,
            subaccount=body.subaccount,
            amount_fen=body.amount_fen,
            payer_name=body.payer_name,
            payer_account=body.payer_account,
            value_date=body.value_date,
        ),
        bank_code=caller.subject,
        now=container.clock(),
    )
    return DepositNoticeOut(
        notice_id=outcome.notice_id,
        outcome="matched" if outcome.outcome == "matched" else "exception",
        deposit_id=outcome.deposit_id,
        exception_id=outcome.exception_id,
        reason=outcome.reason,
        replayed=outcome.replayed,
    )


@bank_router.post("/payment-results", response_model=InstructionOut, responses=_PROBLEMS)
def post_payment_result(
    body: PaymentResultIn, request: Request, caller: Caller = Depends(require_role("bank"))
) -> InstructionOut:
    """The outcome of a refund instruction: `succeeded` posts its ledger holds, `failed` voids them.
    The same result again changes nothing; the opposite result for a settled one is 409."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        escrow = service.escrow_of_bank(session, caller.subject)
        row = session.get(RefundInstruction, body.instruction_id)
        if row is None or row.center_code != escrow.center_code:
            raise errors.InstructionNotFound(f"no refund instruction {body.instruction_id!r}")
        settled = refunds.settle_instruction(
            session,
            body.instruction_id,
            succeeded=body.status == "succeeded",
            bank_reference=body.bank_reference,
            now=container.clock(),
            reason=body.reason,
        )
        return InstructionOut.model_validate(settled)
