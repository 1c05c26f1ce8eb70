"""Request and response bodies of the center API (and the partner extension call)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SectionIn(_In):
    """The section as the center publishes it. Range rules (deposit > 0, validity > 0, opening not
    before deadline, a valid tenderee USCC) are checked by the service, each with its own code."""

    project_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    project_name: Text
    name: Text
    tenderee_name: Text
    tenderee_uscc: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    deposit_fen: Annotated[int, Field(strict=True)]
    bid_deadline_at: AwareDatetime
    bid_opening_at: AwareDatetime
    bid_validity_days: Annotated[int, Field(strict=True)]


class SectionOut(BaseModel):
    code: str
    center_code: str
    project_code: str
    project_name: str
    name: str
    tenderee_name: str
    tenderee_uscc: str
    deposit_fen: int
    bid_deadline_at: str
    bid_opening_at: str
    bid_validity_days: int
    status: str
    winner_uscc: str | None
    contract_signed_on: date | None
    extension_requests: int = 0  # asked by this call (an opening change)


class OpeningChanged(_In):
    type: Literal["opening_changed"]
    bid_opening_at: AwareDatetime
    bid_deadline_at: AwareDatetime | None = None


class Terminated(_In):
    type: Literal["terminated"]
    reason: Text | None = None


class Awarded(_In):
    type: Literal["awarded"]
    winner_uscc: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ContractSigned(_In):
    type: Literal["contract_signed"]
    signed_on: date


SectionEvent = Annotated[OpeningChanged | Terminated | Awarded | ContractSigned, Field(discriminator="type")]


class EventOut(BaseModel):
    section_code: str
    type: str
    section_status: str
    extension_requests: int = 0  # asked (opening_changed)
    extended: int = 0  # approved by the institutions during this call
    surrendered: int = 0  # terminated
    cancelled: int = 0  # terminated: pre-issue orders
    released: int = 0  # terminated (policy none), awarded, contract_signed


class BidderIn(_In):
    uscc: Annotated[str, StringConstraints(max_length=40)]
    name: Text


class SecurityCheckIn(_In):
    bidders: Annotated[list[BidderIn], Field(min_length=1, max_length=5000)]
    lock: bool = False


class SecurityOut(BaseModel):
    kind: Literal["guarantee", "deposit", "application"]
    reference: str


class BidderResult(BaseModel):
    uscc: str
    name: str
    valid: bool
    security: SecurityOut | None
    reasons: list[str]
    locked: bool


class SecurityCheckOut(BaseModel):
    section_code: str
    results: list[BidderResult]


class ExtensionIn(_In):
    new_cover_end: date


class ExtensionOut(BaseModel):
    guarantee_no: str
    cover_end: date
    status: Literal["extended"]
