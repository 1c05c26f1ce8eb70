"""A payment provider (the bidder pays the premium): one charge, one refund, both synchronous, and a
status query for recovery.

The gateway calls it outside any database transaction. `payment_id` is the gateway's id and the
provider's idempotency key: charging the same id twice must not take the money twice. `status` answers
what the provider knows of a payment id (None: it never received that charge), so a payment left
`pending` by a crash between the charge and recording its result can be completed or failed later.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from contracts.money import Money
from contracts.uscc import Uscc


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentRequest(_Message):
    payment_id: str
    application_id: str
    payer_uscc: Uscc
    amount_fen: Money
    method: str


class PaymentResult(_Message):
    payment_id: str
    status: PaymentStatus
    provider_ref: str | None = None
    failure_reason: str | None = None


class RefundRequest(_Message):
    refund_id: str
    payment_id: str
    amount_fen: Money


class RefundResult(_Message):
    refund_id: str
    status: PaymentStatus
    provider_ref: str | None = None


class PaymentUnavailable(Exception):
    code = "payment_unavailable"


@runtime_checkable
class PaymentProvider(Protocol):
    methods: frozenset[str]

    def charge(self, request: PaymentRequest) -> PaymentResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def status(self, payment_id: str) -> PaymentResult | None: ...
