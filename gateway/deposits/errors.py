"""Deposit errors: each a stable code (problem+json)."""

from __future__ import annotations

from gateway.errors import Conflict, GatewayError, NotFound


class SectionNotFound(NotFound):
    code = "section_not_found"
    title = "No such section"


class EscrowAccountMissing(GatewayError):
    code = "escrow_account_not_configured"
    status = 409
    title = "No escrow account is configured for this center or bank"


class DepositNotFound(NotFound):
    code = "deposit_not_found"
    title = "No such deposit"


class ExceptionNotFound(NotFound):
    code = "deposit_exception_not_found"
    title = "No such deposit exception"


class InstructionNotFound(NotFound):
    code = "instruction_not_found"
    title = "No such refund instruction"


class BatchNotFound(NotFound):
    code = "refund_batch_not_found"
    title = "No such refund batch"


class NoticeReferenceReused(Conflict):
    code = "notice_reference_reused"
    title = "This bank reference was already used for a different notice"


class WrongState(Conflict):
    code = "wrong_state"
    title = "Not possible in the current state"


class NothingToRefund(Conflict):
    code = "nothing_to_refund"
    title = "No refundable deposit matches"


class InstructionAlreadySettled(Conflict):
    code = "instruction_already_settled"
    title = "The instruction already has the other outcome"


class EscrowShortOfFunds(Conflict):
    code = "escrow_short_of_funds"
    title = "The escrow account does not hold enough to pay this out"


class InterestCreditConflict(Conflict):
    code = "interest_credit_reference_reused"
    title = "This bank reference was already recorded with different content"
