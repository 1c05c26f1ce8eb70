"""`GET /v1/sections`: the sections bidders can still apply for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.composition import Container
from gateway.http.schemas import PROBLEM_RESPONSES
from gateway.sections import repository
from gateway.sections.schemas import SectionOut, SectionPage

router = APIRouter(prefix="/v1", tags=["sections"], responses={401: PROBLEM_RESPONSES[401]})


@router.get("/sections", response_model=SectionPage)
def list_sections(
    request: Request,
    _caller: Caller = Depends(require_role("bidder", "finance", "admin")),
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str, Query(max_length=64)] = "",
) -> SectionPage:
    container: Container = request.app.state.container
    with container.sessions() as session:
        rows = repository.open_sections(session, now=container.clock(), after=after, limit=limit + 1)
        data = [SectionOut.model_validate(row, from_attributes=True) for row in rows[:limit]]
    has_more = len(rows) > limit
    return SectionPage(data=data, has_more=has_more, next_cursor=data[-1].code if has_more else None)
