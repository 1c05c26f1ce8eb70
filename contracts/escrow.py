"""The escrow bank (保证金专户开户行) as the gateway reaches it: refund instructions out, their status.

The gateway calls it outside any database transaction. `instruction_id` is the gateway's id, the
reference the bank prints on the payment and its idempotency key: sending the same id twice must not
pay twice. Sending only says whether the bank accepted the instruction; the outcome arrives later
(`POST /bank/v1/payment-results`, a statement line, or `status`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InstructionState(StrEnum):
    ACCEPTED = "accepted"  # taken, not yet paid
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the bank has never seen this id


class PaymentInstruction(_Message):
    instruction_id: str = Field(min_length=1, max_length=40)
    debit_account: str  # the escrow account
    payee_name: str
    payee_account: str
    amount_fen: int = Field(gt=0, strict=True)
    value_date: date
    remark: str = ""


class InstructionAck(_Message):
    instruction_id: str
    accepted: bool
    reason: str | None = None


class InstructionStatus(_Message):
    instruction_id: str
    state: InstructionState
    bank_reference: str | None = None
    reason: str | None = None


class EscrowBankUnavailable(Exception):
    code = "escrow_bank_unavailable"


@runtime_checkable
class EscrowBank(Protocol):
    def send(self, instruction: PaymentInstruction) -> InstructionAck: ...

    def status(self, instruction_id: str) -> InstructionStatus: ...
