"""Wire shapes. Amounts are integer fen everywhere (JSON integers; a float, a string or a bool is
refused, so "more than two decimals" cannot even be said)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Fen = Annotated[StrictInt, Field(gt=0, le=10**15, description="integer fen (分), > 0")]
Reference = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
AccountNo = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z -]+$")]
Note = Annotated[str, Field(min_length=1, max_length=500)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DepositAccountOut(BaseModel):
    section_code: str
    subaccount: str
    account_name: str
    bank_name: str
    escrow_account_no: str
    amount_due_fen: int
    bid_deadline_at: datetime


class DepositNoticeIn(_In):
    bank_reference: Reference
    subaccount: Annotated[str, Field(min_length=1, max_length=40)]
    amount_fen: Fen
    payer_name: Name
    payer_account: AccountNo
    value_date: date


class DepositNoticeOut(BaseModel):
    notice_id: str
    outcome: Literal["matched", "exception"]
    deposit_id: str | None
    exception_id: str | None
    reason: str | None
    replayed: bool


class PaymentResultIn(_In):
    instruction_id: Annotated[str, Field(min_length=1, max_length=40)]
    status: Literal["succeeded", "failed"]
    bank_reference: Annotated[str, Field(max_length=64)] = ""
    reason: Annotated[str | None, Field(max_length=500)] = None


class InstructionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    batch_id: str | None
    kind: str
    deposit_id: str | None
    exception_id: str | None
    payee_name: str
    payee_account: str
    principal_fen: int
    interest_fen: int
    amount_fen: int
    value_date: date
    status: str
    bank_reference: str | None
    failure_reason: str | None
    created_at: datetime
    sent_at: datetime | None
    settled_at: datetime | None


class DepositOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    section_code: str
    bidder_uscc: str
    bidder_name: str
    subaccount: str
    amount_fen: int
    interest_accrued_fen: int
    payer_name: str
    payer_account: str
    bank_reference: str
    value_date: date
    received_at: datetime
    status: str
    refund_due_on: date | None
    refunded_at: datetime | None
    forfeit_reason: str | None


class ExceptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    reason: str
    detail: str
    amount_fen: int
    payer_name: str
    payer_account: str
    bank_reference: str
    value_date: date
    section_code: str | None
    bidder_uscc: str | None
    status: str
    resolution_note: str | None
    resolved_by: str | None
    deposit_id: str | None
    instruction_id: str | None
    created_at: datetime


class AssignIn(_In):
    section_code: Annotated[str, Field(min_length=1, max_length=64)]
    bidder_uscc: Annotated[str, Field(min_length=18, max_length=18)]
    bidder_name: Name | None = None
    note: Note


class ReturnIn(_In):
    note: Note


class ForfeitIn(_In):
    reason: Note


class BatchIn(_In):
    deposit_ids: Annotated[list[str], Field(min_length=1, max_length=1000)] | None = None
    refund_date: date | None = None


class BatchOut(BaseModel):
    id: str
    refund_date: date
    created_by: str
    created_at: datetime
    count: int
    total_fen: int
    states: dict[str, int]
    instructions: list[InstructionOut] | None = None


class RefundDueOut(BaseModel):
    deposit: DepositOut
    overdue: bool
    days_left: int


class InterestCreditIn(_In):
    bank_reference: Reference
    amount_fen: Fen
    value_date: date


class InterestCreditOut(BaseModel):
    transfer_id: str
