"""Request and response bodies of the bidder API (`/v1`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.enums import DecisionMode, InstitutionKind, Product, SurrenderReason


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationIn(_In):
    section_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    product: Product = Product.BID
    bidder_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None
    ) = None


class AcceptIn(_In):
    offer_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class PaymentIn(_In):
    method: Annotated[str, StringConstraints(min_length=1, max_length=30)] = "sandbox"


class SurrenderIn(_In):
    reason: SurrenderReason


class InstitutionRef(BaseModel):
    code: str
    name: str
    kind: InstitutionKind


class OfferOut(BaseModel):
    offer_id: str
    institution: InstitutionRef
    premium_fen: int
    decision: DecisionMode
    valid_until: datetime
    rank: int


class ApplicationOut(BaseModel):
    id: str
    status: str
    status_zh: str
    status_reason: str | None
    bidder_uscc: str
    section_code: str
    product: str
    amount_fen: int
    cover_start: date
    cover_end: date
    offers: list[OfferOut]
    accepted_offer_id: str | None
    institution_code: str | None
    premium_fen: int | None
    guarantee_no: str | None
    created_at: datetime
    updated_at: datetime


class GuaranteeOut(BaseModel):
    guarantee_no: str
    application_id: str
    status: str
    status_zh: str
    institution_code: str
    section_code: str
    amount_fen: int
    premium_fen: int
    cover_start: date
    cover_end: date
    issued_at: datetime
    verification_code: str
    signed_data_sm3: str
    institution_key_id: str
    institution_signature: str
    letter_sm3: str | None
    letter_url: str | None


class GuaranteePage(BaseModel):
    data: list[GuaranteeOut]
    has_more: bool
    next_cursor: str | None = Field(default=None)
