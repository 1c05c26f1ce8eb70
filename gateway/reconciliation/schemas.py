"""Finance API models for statement imports and reconciliation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class RunOut(BaseModel):
    id: str
    import_id: str | None
    created_at: datetime
    actor: str
    drift_days: int
    lines_considered: int
    items_considered: int
    matches: int
    matched_lines: int
    matched_items: int
    matched_fen: int
    unmatched_lines: int
    unmatched_lines_fen: int
    unmatched_items: int
    unmatched_items_fen: int
    refunds_posted: int
    refunds_voided: int


class ImportOut(BaseModel):
    import_id: str
    lines_total: int
    lines_new: int = Field(description="lines not imported before; the rest are ignored")
    run: RunOut


class RunPage(BaseModel):
    data: list[RunOut]
    has_more: bool
    next_cursor: str | None


class LineOut(BaseModel):
    id: int
    account: str
    value_date: date
    direction: Literal["credit", "debit"]
    amount_fen: int
    currency: str
    is_reversal: bool
    bank_reference: str | None
    customer_reference: str | None
    counterparty_name: str | None
    counterparty_account: str | None
    narrative: str
    source_location: str
    status: str
    match_id: str | None
    note: str | None


class LinePage(BaseModel):
    data: list[LineOut]
    has_more: bool
    next_cursor: str | None


class ItemOut(BaseModel):
    transfer_id: str
    kind: str = Field(description="posted, or pending (a refund instruction the bank has not confirmed)")
    direction: Literal["credit", "debit"]
    amount_fen: int
    currency: str
    bank_reference: str | None
    counterparty_name: str
    counterparty_account: str
    expected_date: date


class ItemPage(BaseModel):
    data: list[ItemOut]
    has_more: bool
    next_cursor: str | None


class MatchOut(BaseModel):
    id: str
    rule: str
    outcome: str
    note: str | None
    actor: str
    created_at: datetime
    line_ids: list[int]
    transfer_ids: list[str]


class MatchPage(BaseModel):
    data: list[MatchOut]
    has_more: bool
    next_cursor: str | None


class ManualMatchIn(BaseModel):
    line_ids: list[int] = Field(min_length=1, max_length=50)
    transfer_ids: list[str] = Field(default_factory=list, max_length=50)
    note: str = Field(min_length=1, max_length=500)
    returned: bool = Field(
        False, description="a returned refund: the lines net to zero and its holds are voided"
    )


class WriteOffIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
