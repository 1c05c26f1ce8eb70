"""The settle seam's stand-in until the deposits side's `settle_instruction` is wired.

`LedgerSettle` posts or voids, straight in the ledger, every open hold on an escrow account whose
metadata `bank_ref` is the instruction id. It keeps the ledger right but knows nothing of the deposits
side's own rows (refund batch and instruction states); `gateway.deposits` replaces it.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

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


def settle_seam() -> LedgerSettle:
    """The settle seam the API and CLI use (one per use case: it caches the open holds)."""
    return LedgerSettle()
