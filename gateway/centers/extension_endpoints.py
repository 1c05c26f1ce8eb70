"""`POST /partner/v1/guarantees/{no}/extension`: an institution extends the cover of one of its
guarantees after the opening time moved (when it did not answer the gateway's request at once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.centers import service
from gateway.centers.schemas import ExtensionIn, ExtensionOut
from gateway.composition import Container
from gateway.db import transaction
from gateway.http.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/partner/v1", tags=["partner"])
Institution = Annotated[Caller, Depends(require_role("institution"))]


@router.post(
    "/guarantees/{no}/extension",
    response_model=ExtensionOut,
    responses={
        401: PROBLEM_RESPONSES[401],
        403: PROBLEM_RESPONSES[403],
        404: {**PROBLEM_RESPONSES[404], "description": "guarantee_not_found (not one of yours)"},
        409: {**PROBLEM_RESPONSES[409], "description": "no_open_extension_request"},
        422: {**PROBLEM_RESPONSES[422], "description": "extension_too_short"},
    },
)
def extend(
    request: Request,
    no: Annotated[str, Path(min_length=1, max_length=40)],
    body: ExtensionIn,
    caller: Institution,
) -> ExtensionOut:
    """Extend the cover to `new_cover_end`, which must reach the end of bid validity requested."""
    container: Container = request.app.state.container
    with transaction(container.sessions) as session:
        service.record_extension(
            session,
            guarantee_no=no,
            institution_code=caller.subject,
            approved=True,
            new_cover_end=body.new_cover_end,
            reason=None,
            now=container.clock(),
            strict=True,
        )
    return ExtensionOut(guarantee_no=no, cover_end=body.new_cover_end, status="extended")
