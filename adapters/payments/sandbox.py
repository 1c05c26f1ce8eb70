"""The embedded sandbox payment provider: succeeds, fails or is slow on demand (for tests and demo).

Idempotent by payment id: charging the same id again returns the first result; `status` returns it
too (None for an id never charged).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from contracts.payments import (
    PaymentRequest,
    PaymentResult,
    PaymentStatus,
    PaymentUnavailable,
    RefundRequest,
    RefundResult,
)


@dataclass
class SandboxPaymentBehaviour:
    fail_payers: set[str] = field(default_factory=set)
    delay_s: float = 0.0
    unavailable: bool = False


@dataclass
class SandboxPayments:
    behaviour: SandboxPaymentBehaviour = field(default_factory=SandboxPaymentBehaviour)
    methods: frozenset[str] = frozenset({"sandbox"})
    charges: dict[str, PaymentResult] = field(default_factory=dict)
    refunds: dict[str, RefundResult] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, request: PaymentRequest) -> PaymentResult:
        if self.behaviour.delay_s:
            time.sleep(self.behaviour.delay_s)
        if self.behaviour.unavailable:
            raise PaymentUnavailable("sandbox payment provider unavailable")
        with self._lock:
            if request.payment_id in self.charges:
                return self.charges[request.payment_id]
            if request.payer_uscc in self.behaviour.fail_payers:
                result = PaymentResult(
                    payment_id=request.payment_id,
                    status=PaymentStatus.FAILED,
                    failure_reason="card declined (sandbox)",
                )
            else:
                result = PaymentResult(
                    payment_id=request.payment_id,
                    status=PaymentStatus.SUCCEEDED,
                    provider_ref=f"SBXPAY-{request.payment_id}",
                )
            self.charges[request.payment_id] = result
            return result

    def status(self, payment_id: str) -> PaymentResult | None:
        """The first result of that charge, or None when it never arrived."""
        if self.behaviour.unavailable:
            raise PaymentUnavailable("sandbox payment provider unavailable")
        with self._lock:
            return self.charges.get(payment_id)

    def refund(self, request: RefundRequest) -> RefundResult:
        with self._lock:
            if request.refund_id not in self.refunds:
                self.refunds[request.refund_id] = RefundResult(
                    refund_id=request.refund_id,
                    status=PaymentStatus.SUCCEEDED,
                    provider_ref=f"SBXREF-{request.refund_id}",
                )
            return self.refunds[request.refund_id]
