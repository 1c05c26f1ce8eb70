"""Public verification: a guarantee number plus the verification code printed on the letter (and in
its QR code) give the essential facts of the guarantee; anything else gives nothing.

No oracle: an unknown number and a known number with a wrong code are the same `None`, and take the
same work (the code is compared in constant time, against a stand-in when the number is unknown), so
numbers alone reveal nothing, not even whether they exist.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy.orm import Session

from contracts.capitals import amount_in_capitals
from contracts.enums import GuaranteeStatus
from gateway.broker.tables import Application, Guarantee
from gateway.claims.rules import is_guarantee_no
from gateway.institutions.tables import Institution

S = GuaranteeStatus
_STAND_IN_CODE: Final = b"\x00" * 8
# The public words for the guarantee's status (the order's own states stay internal).
STATUS_WORDS: Final = {
    S.ISSUED: "valid",
    S.LOCKED: "valid",
    S.RELEASED: "released",
    S.SURRENDERED: "surrendered",
    S.CLAIMED: "claimed",
    S.CLAIM_PAID: "claim_paid",
    S.CLAIM_REFUSED: "claim_refused",
    S.EXPIRED: "expired",
}
STATUS_ZH: Final = {
    "valid": "有效",
    "expired": "已到期",
    "released": "已解除保证责任（解保）",
    "surrendered": "已退保",
    "claimed": "理赔中",
    "claim_paid": "已理赔",
    "claim_refused": "已拒绝理赔",
    "void": "无效",
}


@dataclass(frozen=True)
class Verified:
    guarantee_no: str
    institution_name: str
    applicant_name: str
    beneficiary_name: str
    amount_fen: int
    amount_capitals: str
    cover_start: date
    cover_end: date
    status: str
    letter_sm3: str | None

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def status_zh(self) -> str:
        return STATUS_ZH[self.status]


def normalise_code(code: str) -> str:
    """Codes are printed in capitals from an alphabet without look-alikes; people may type lower case."""
    return code.strip().upper()


def public_status(status: GuaranteeStatus, cover_end: date, *, today: date) -> str:
    word = STATUS_WORDS.get(status, "void")
    # An issued guarantee whose cover has ended is expired, whether or not a job has marked it yet.
    if word == "valid" and today > cover_end:
        return "expired"
    return word


def verify(session: Session, guarantee_no: str, code: str, *, today: date) -> Verified | None:
    # A malformed number is unknown without asking the database (PostgreSQL refuses NUL, for one).
    row = session.get(Guarantee, guarantee_no) if is_guarantee_no(guarantee_no) else None
    expected = row.verification_code.encode() if row is not None else _STAND_IN_CODE
    matches = hmac.compare_digest(expected, normalise_code(code).encode())
    if row is None or not matches:
        return None
    app = session.get(Application, row.application_id)
    institution = session.get(Institution, row.institution_code)
    assert app is not None
    signed = json.loads(row.signed_data)  # what the institution signed: the names as on the letter
    return Verified(
        guarantee_no=row.guarantee_no,
        institution_name=institution.name if institution is not None else row.institution_code,
        applicant_name=str(signed.get("applicant_name", app.bidder_name)),
        beneficiary_name=str(signed.get("beneficiary_name", "")),
        amount_fen=row.amount_fen,
        amount_capitals=amount_in_capitals(row.amount_fen),
        cover_start=row.cover_start,
        cover_end=row.cover_end,
        status=public_status(GuaranteeStatus(app.status), row.cover_end, today=today),
        letter_sm3=row.letter_sm3,
    )
