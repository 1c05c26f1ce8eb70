from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class SectionOut(BaseModel):
    code: str
    name: str
    project_code: str
    project_name: str
    center_code: str
    tenderee_name: str
    tenderee_uscc: str
    deposit_fen: int
    bid_deadline_at: datetime
    bid_opening_at: datetime
    bid_validity_days: int
    status: str


class SectionPage(BaseModel):
    data: list[SectionOut]
    has_more: bool
    next_cursor: str | None
