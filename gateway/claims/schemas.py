"""Request and response bodies of the claim endpoints (center and partner APIs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.claims.rules import REASON_MAX_CHARS, ClaimStatus, Outcome

Reason = Annotated[str, StringConstraints(max_length=REASON_MAX_CHARS)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimIn(_In):
    guarantee_no: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    # Strict: a float or a numeric string for money is a client bug, not something to round.
    amount_fen: Annotated[int, Field(strict=True, gt=0, le=10**12)]
    reason: Annotated[
        Reason,
        Field(description=f"In what respect the bidder is in breach (URDG 758 art. 15); at most "
                          f"{REASON_MAX_CHARS} characters"),
    ]  # fmt: skip


class DecisionIn(_In):
    outcome: Outcome = Field(description="paid (the claimed amount) or refused")
    reason: Reason | None = Field(default=None, description="Required when refused")


class ClaimOut(BaseModel):
    id: str
    guarantee_no: str
    section_code: str
    center_code: str
    institution_code: str
    amount_fen: int
    reason: str
    status: ClaimStatus
    filed_at: datetime
    decision_days: int = Field(description="Business days the institution has to decide")
    decision_due: date | None = Field(
        description="Last day (Asia/Shanghai) for the decision; null until the holiday calendar covers it"
    )
    decision_due_provisional: bool = Field(
        description="The deadline runs past the holiday data and was counted on weekdays only; it is "
        "recomputed once that year's holiday notice is loaded"
    )
    overdue: bool = Field(description="Still open after the decision day")
    forwarded_at: datetime | None = Field(description="When the institution acknowledged the claim")
    forward_attempts: int
    last_forward_error: str | None
    decided_at: datetime | None
    decision_reason: str | None
    paid_amount_fen: int | None


class ClaimPage(BaseModel):
    data: list[ClaimOut]
    has_more: bool
    next_cursor: str | None
