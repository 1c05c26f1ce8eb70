"""Request and response bodies of the partner API (pull mode)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.enums import DecisionMode
from contracts.institutions import IssueRequest, QuoteRequest

PartnerStatus = Literal[
    "quote_requested",  # answer with POST .../quote before the fan-out deadline
    "quoted",  # you quoted; the bidder has not chosen yet
    "awaiting_decision",  # the bidder accepted your offer: POST .../decision
    "approved",  # approved; the bidder is paying
    "paid",  # paid; the issue request is on its way
    "awaiting_issuance",  # paid: POST .../issuance with the signed guarantee
    "issued",
    "rejected",
    "closed",  # not chosen, lapsed, cancelled or expired: nothing to do
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuoteIn(_In):
    premium_fen: Annotated[int | None, Field(gt=0, le=10**13)] = None
    declined: bool = False
    declined_reason: Annotated[str | None, Field(max_length=200)] = None
    decision: DecisionMode | None = Field(default=None, description="instant or review; default: yours")
    valid_until: AwareDatetime

    @model_validator(mode="after")
    def _premium_or_declined(self) -> QuoteIn:
        if self.declined == (self.premium_fen is not None):
            raise ValueError("give premium_fen, or declined=true with a declined_reason (not both)")
        if self.declined and not self.declined_reason:
            raise ValueError("a declined quote needs a declined_reason")
        return self


class DecisionIn(_In):
    outcome: Literal["approved", "rejected"]
    reason: Annotated[str | None, Field(max_length=200)] = None


class DecisionAck(BaseModel):
    """The answer to a push institution's decision callback (it has no pull-mode route to show)."""

    application_id: str
    application_status: str


class QuoteOut(BaseModel):
    status: str  # open | answered | lapsed
    premium_fen: int | None
    decision: str | None
    valid_until: datetime | None
    declined_reason: str | None


class PartnerApplicationOut(BaseModel):
    application_id: str
    status: PartnerStatus
    application_status: str
    quote_request: QuoteRequest
    quote: QuoteOut
    premium_fen: int | None = Field(description="the accepted premium, once the bidder chose you")
    issue_request: IssueRequest | None = Field(description="what to issue, once paid")
    guarantee_no: str | None
    updated_at: datetime


class PartnerApplicationPage(BaseModel):
    data: list[PartnerApplicationOut]
    has_more: bool
    next_cursor: str | None


class NoticeOut(BaseModel):
    id: str
    kind: str
    guarantee_no: str
    payload: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None


class NoticePage(BaseModel):
    data: list[NoticeOut]
    has_more: bool
    next_cursor: str | None
