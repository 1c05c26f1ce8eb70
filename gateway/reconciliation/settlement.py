"""The settle seam: a statement line matched to a refund still waiting for the bank settles it.

`DepositsSettle` (what the API and CLI use) hands a refund or return instruction of gateway.deposits
to `settle_instruction`, which posts or voids its holds *and* moves the instruction, its deposit
(refunded, or refundable again) or its exception, and announces `deposit.refunded`. A hold that is
not a deposits instruction (there are none today) falls back to `LedgerSettle`.

`LedgerSettle` posts or voids, straight in the ledger, every open hold on an escrow account whose
metadata `bank_ref` is the instruction id; it knows nothing of the deposits side's rows.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.deposits.refunds import settle_instruction
from gateway.deposits.tables import RefundInstruction
from ledger import Ledger


class LedgerSettle:
    def __init__(self) -> None:
        self._holds: dict[str, list[str]] | None = None

    def _open_holds(self, session: Session) -> dict[str, list[str]]:
        if self._holds is None:
            rows = session.connection().execute(
                text(
                    "SELECT t.id, t.meta FROM ledger_transfers t WHERE t.kind = 'pending' "
                    "AND (t.debit_account LIKE :escrow OR t.credit_account LIKE :escrow) "
                    "AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)"
                ),
                {"escrow": "center:%:escrow_bank"},
            )
            holds: dict[str, list[str]] = {}
            for transfer_id, meta in rows:
                reference = json.loads(meta).get("bank_ref")
                if isinstance(reference, str) and reference:
                    holds.setdefault(reference, []).append(transfer_id)
            self._holds = holds
        return self._holds

    def __call__(
        self, session: Session, instruction_id: str, *, succeeded: bool, bank_reference: str, now: datetime
    ) -> None:
        bind = session.get_bind()
        book = Ledger(bind.engine if hasattr(bind, "engine") else bind).within(session.connection())  # type: ignore[arg-type]
        meta = {"bank_reference": bank_reference, "settled_at": now.isoformat()}
        for pending_id in self._open_holds(session).pop(instruction_id, []):
            if succeeded:
                book.post_pending(id=f"recon-post:{pending_id}"[:128], pending_id=pending_id, meta=meta)
            else:
                book.void_pending(id=f"recon-void:{pending_id}"[:128], pending_id=pending_id, meta=meta)


class DepositsSettle:
    def __init__(self) -> None:
        self._fallback = LedgerSettle()

    def __call__(
        self, session: Session, instruction_id: str, *, succeeded: bool, bank_reference: str, now: datetime
    ) -> None:
        if session.get(RefundInstruction, instruction_id) is None:
            self._fallback(
                session, instruction_id, succeeded=succeeded, bank_reference=bank_reference, now=now
            )
            return
        settle_instruction(
            session, instruction_id, succeeded=succeeded, bank_reference=bank_reference, now=now,
            reason=None if succeeded else "returned by the bank (statement line)",
        )  # fmt: skip


def settle_seam() -> DepositsSettle:
    """The settle seam the API and CLI use (one per use case: its fallback caches the open holds)."""
    return DepositsSettle()
