"""The public verification answer: validity and the essential facts, nothing more."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

PublicStatus = Literal[
    "valid", "expired", "released", "surrendered", "claimed", "claim_paid", "claim_refused", "void"
]


class VerificationOut(BaseModel):
    valid: bool = Field(description="True only while the guarantee is in force (status `valid`)")
    guarantee_no: str
    institution_name: str = Field(description="The guarantor (保证人)")
    applicant_name: str = Field(description="The bidder (被保证人 / 投标人)")
    beneficiary_name: str = Field(description="The tenderee (受益人)")
    amount_fen: int
    amount_capitals: str = Field(description="The amount in Chinese capitals (大写), e.g. 捌拾万元整")
    cover_start: date
    cover_end: date
    status: PublicStatus
    status_zh: str
    letter_sm3: str | None = Field(description="SM3 of the signed letter (PDF) as issued, lowercase hex")
