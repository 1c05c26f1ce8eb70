"""Claims over HTTP: centers file and follow them (`/center/v1/claims`), institutions decide
(`/partner/v1/claims/{id}/decision`). Both SM2-signed; a caller only ever finds its own claims and
guarantees (anyone else's are 404, so ids and numbers cannot be probed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request

from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.claims import errors, repository
from gateway.claims.rules import ClaimStatus, is_overdue, shanghai_date
from gateway.claims.schemas import ClaimIn, ClaimOut, ClaimPage, DecisionIn
from gateway.claims.tables import Claim
from gateway.claims.workflow import Claims
from gateway.composition import Container, container_of
from gateway.http.schemas import PROBLEM_RESPONSES

router = APIRouter(tags=["claims"])
Center = Annotated[Caller, Depends(require_role("center"))]
Institution = Annotated[Caller, Depends(require_role("institution"))]
ClaimId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


def _problems(**described: str) -> dict[int | str, dict[str, Any]]:
    """Problem responses with the stable codes each status may carry."""
    responses: dict[int | str, dict[str, Any]] = {401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403]}
    for status, codes in described.items():
        responses[int(status)] = {**PROBLEM_RESPONSES[int(status)], "description": codes}
    return responses


def claim_out(claim: Claim, container: Container) -> ClaimOut:
    status = ClaimStatus(claim.status)
    return ClaimOut(
        id=claim.id,
        guarantee_no=claim.guarantee_no,
        section_code=claim.section_code,
        center_code=claim.center_code,
        institution_code=claim.institution_code,
        amount_fen=claim.amount_fen,
        reason=claim.reason,
        status=status,
        filed_at=claim.filed_at,
        decision_days=claim.decision_days,
        decision_due=claim.decision_due,
        decision_due_provisional=claim.decision_due_provisional,
        overdue=is_overdue(status, claim.decision_due, today=shanghai_date(container.clock())),
        forwarded_at=claim.forwarded_at,
        forward_attempts=claim.forward_attempts,
        last_forward_error=claim.last_forward_error,
        decided_at=claim.decided_at,
        decision_reason=claim.decision_reason,
        paid_amount_fen=claim.paid_amount_fen,
    )


def _centers_claim(container: Container, claim_id: str, center_code: str) -> ClaimOut:
    with container.sessions() as session:
        claim = repository.centers_claim(session, claim_id, center_code)
        if claim is None:
            raise errors.ClaimNotFound(f"no claim {claim_id!r}")
        return claim_out(claim, container)


@router.post(
    "/center/v1/claims",
    status_code=201,
    response_model=ClaimOut,
    responses=_problems(
        **{
            "404": "guarantee_not_found",
            "409": "claim_exists, guarantee_not_claimable",
            "422": "claim_outside_cover, claim_exceeds_amount, claim_reason_required, validation_error",
        }
    ),
)
async def file_claim(body: ClaimIn, request: Request, caller: Center) -> ClaimOut:
    """The tenderee's demand, filed by the center of the guarantee's section: within cover, for at
    most the guarantee amount, with its reason. The guarantee becomes `claimed`; the claim is forwarded
    to the institution (retried in the background if the institution is unavailable, see
    `forwarded_at`), which decides within `decision_days` business days."""
    container = container_of(request)
    claims = Claims.from_container(container)
    claim_id = await anyio.to_thread.run_sync(
        lambda: claims.file(
            center_code=caller.subject,
            guarantee_no=body.guarantee_no,
            amount_fen=body.amount_fen,
            reason=body.reason,
        )
    )
    return await anyio.to_thread.run_sync(lambda: _centers_claim(container, claim_id, caller.subject))


@router.get(
    "/center/v1/claims/{claim_id}",
    response_model=ClaimOut,
    responses=_problems(**{"404": "claim_not_found"}),
)
def get_claim(claim_id: ClaimId, request: Request, caller: Center) -> ClaimOut:
    """One of your claims: its status, decision deadline, whether it is overdue, and the decision."""
    return _centers_claim(container_of(request), claim_id, caller.subject)


@router.get("/center/v1/claims", response_model=ClaimPage, responses=_problems())
def list_claims(
    request: Request,
    caller: Center,
    status: Annotated[
        Literal["open", "overdue", "decided", "all"],
        Query(description="open (default), overdue (open past the decision day), decided, all"),
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{0,40}$")] = "",
) -> ClaimPage:
    """Your claims by id, cursor-paginated."""
    container = container_of(request)
    today = shanghai_date(container.clock())
    with container.sessions() as session:
        rows = repository.centers_claims(
            session, caller.subject, status=status, today=today, after=after, limit=limit + 1
        )
        data = [claim_out(row, container) for row in rows[:limit]]
    has_more = len(rows) > limit
    return ClaimPage(data=data, has_more=has_more, next_cursor=data[-1].id if has_more else None)


@router.get(
    "/partner/v1/claims/{claim_id}",
    response_model=ClaimOut,
    responses=_problems(**{"404": "claim_not_found"}),
)
def get_institution_claim(claim_id: ClaimId, request: Request, caller: Institution) -> ClaimOut:
    """A claim on one of your guarantees (re-fetch it after a `guarantee.claimed` event)."""
    container = container_of(request)
    with container.sessions() as session:
        claim = repository.institutions_claim(session, claim_id, caller.subject)
        if claim is None:
            raise errors.ClaimNotFound(f"no claim {claim_id!r}")
        return claim_out(claim, container)


@router.post(
    "/partner/v1/claims/{claim_id}/decision",
    response_model=ClaimOut,
    responses=_problems(
        **{
            "404": "claim_not_found",
            "409": "claim_already_decided",
            "422": "claim_reason_required, validation_error",
        }
    ),
)
def decide_claim(claim_id: ClaimId, body: DecisionIn, request: Request, caller: Institution) -> ClaimOut:
    """Pay (the claimed amount) or refuse (stating why). Decided once: the same outcome again answers
    with the claim as recorded; the other outcome is 409 `claim_already_decided`."""
    container = container_of(request)
    Claims.from_container(container).decide(
        claim_id=claim_id, institution_code=caller.subject, outcome=body.outcome, reason=body.reason
    )
    with container.sessions() as session:
        claim = repository.institutions_claim(session, claim_id, caller.subject)
        assert claim is not None
        return claim_out(claim, container)
