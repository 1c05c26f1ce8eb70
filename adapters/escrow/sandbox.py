"""The embedded sandbox escrow bank: accepts instructions and decides their outcome on demand.

Idempotent by instruction id. `fail_accounts` / `fail_instructions` make the payment fail (an account
closed at the payee's bank, say); `reject_instructions` / `reject_accounts` refuse at sending;
`unavailable` raises.
The real bank reports outcomes asynchronously; so does this one: `outcome(id)` says what it would
report, and tests post that to `/bank/v1/payment-results` as the bank would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from contracts.escrow import (
    EscrowBankUnavailable,
    InstructionAck,
    InstructionState,
    InstructionStatus,
    PaymentInstruction,
)


@dataclass
class SandboxEscrowBehaviour:
    fail_accounts: set[str] = field(default_factory=set)
    fail_instructions: set[str] = field(default_factory=set)
    reject_instructions: set[str] = field(default_factory=set)
    reject_accounts: set[str] = field(default_factory=set)
    unavailable: bool = False


@dataclass
class SandboxEscrowBank:
    behaviour: SandboxEscrowBehaviour = field(default_factory=SandboxEscrowBehaviour)
    received: dict[str, PaymentInstruction] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, instruction: PaymentInstruction) -> InstructionAck:
        if self.behaviour.unavailable:
            raise EscrowBankUnavailable("sandbox escrow bank unavailable")
        with self._lock:
            known = self.received.get(instruction.instruction_id)
            if known is not None and known != instruction:
                return InstructionAck(
                    instruction_id=instruction.instruction_id,
                    accepted=False,
                    reason="instruction id reused with different content",
                )
            rejected = self.behaviour.reject_instructions | self.behaviour.reject_accounts
            if rejected & {instruction.instruction_id, instruction.payee_account}:
                return InstructionAck(
                    instruction_id=instruction.instruction_id, accepted=False, reason="rejected (sandbox)"
                )
            self.received[instruction.instruction_id] = instruction
            return InstructionAck(instruction_id=instruction.instruction_id, accepted=True)

    def outcome(self, instruction_id: str) -> InstructionStatus:
        """What the bank reports once it has executed the instruction."""
        with self._lock:
            instruction = self.received.get(instruction_id)
        if instruction is None:
            return InstructionStatus(instruction_id=instruction_id, state=InstructionState.UNKNOWN)
        failing = (
            instruction_id in self.behaviour.fail_instructions
            or instruction.payee_account in self.behaviour.fail_accounts
        )
        if failing:
            return InstructionStatus(
                instruction_id=instruction_id,
                state=InstructionState.FAILED,
                bank_reference=f"SBXESC-{instruction_id}",
                reason="payee account closed (sandbox)",
            )
        return InstructionStatus(
            instruction_id=instruction_id,
            state=InstructionState.SUCCEEDED,
            bank_reference=f"SBXESC-{instruction_id}",
        )

    def status(self, instruction_id: str) -> InstructionStatus:
        return self.outcome(instruction_id)
