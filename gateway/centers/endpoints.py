"""The center API (`/center/v1`, SM2-signed; caller kind `center`, subject = the center's code).

A center only ever finds its own sections: another center's section is `unknown_section` (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request

from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.centers import checks, service
from gateway.centers.events import Centers
from gateway.centers.schemas import (
    BidderResult,
    EventOut,
    SectionEvent,
    SectionIn,
    SectionOut,
    SecurityCheckIn,
    SecurityCheckOut,
    SecurityOut,
)
from gateway.composition import container_of
from gateway.db import transaction
from gateway.http.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/center/v1", tags=["center"])
CenterCaller = Annotated[Caller, Depends(require_role("center"))]
SectionCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


def _problems(**described: str) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403]}
    for status, description in described.items():
        responses[int(status[1:])] = {**PROBLEM_RESPONSES[int(status[1:])], "description": description}
    return responses


@router.put(
    "/sections/{code}",
    response_model=SectionOut,
    responses=_problems(
        s404="unknown_section (another center's section)",
        s409="section_not_open",
        s422="opening_before_deadline, invalid_deposit, invalid_validity_days, invalid_tenderee_uscc",
    ),
)
def put_section(request: Request, code: SectionCode, body: SectionIn, caller: CenterCaller) -> SectionOut:
    """Create or update one of your sections. Moving the opening time (or the validity days) of an
    existing section is handled exactly like an `opening_changed` event: guarantees whose cover no
    longer reaches the end of bid validity get extension requests."""
    return Centers.from_container(container_of(request)).upsert(
        center_code=caller.subject, code=code, body=body
    )


@router.post(
    "/sections/{code}/events",
    response_model=EventOut,
    responses=_problems(
        s404="unknown_section",
        s409="section_not_open, event_out_of_order",
        s422="opening_before_deadline, invalid_uscc, or a malformed event",
    ),
)
def post_event(
    request: Request, code: SectionCode, event: Annotated[SectionEvent, Body()], caller: CenterCaller
) -> EventOut:
    """`opening_changed` {bid_opening_at, bid_deadline_at?}, `terminated`, `awarded` {winner_uscc},
    `contract_signed` {signed_on}. Repeating an event changes nothing more."""
    return Centers.from_container(container_of(request)).handle(
        center_code=caller.subject, code=code, event=event
    )


@router.post(
    "/sections/{code}/security-checks",
    response_model=SecurityCheckOut,
    responses=_problems(s404="unknown_section", s422="invalid_uscc (the index is in `index`)"),
)
def security_check(
    request: Request, code: SectionCode, body: SecurityCheckIn, caller: CenterCaller
) -> SecurityCheckOut:
    """The bid-opening check (开标验证): one result per named bidder, in order, with the security
    found and every reason it is not valid. With `lock`, valid securities are locked in the same
    transaction. Asking again returns the same answer."""
    bidders = checks.parse_bidders([(b.uscc, b.name) for b in body.bidders])
    container = container_of(request)
    with transaction(container.sessions) as session:
        section = service.section_of(session, caller.subject, code, lock=body.lock)
        now = container.clock()
        results = checks.check(session, section, bidders, lock=body.lock, now=now)
        checks.record_check(session, section, results, lock=body.lock, now=now)
    return SecurityCheckOut(
        section_code=code,
        results=[
            BidderResult(
                uscc=r.bidder.uscc,
                name=r.bidder.name,
                valid=r.verdict.valid,
                security=(
                    SecurityOut.model_validate({"kind": r.verdict.kind, "reference": r.verdict.reference})
                    if r.verdict.kind is not None and r.verdict.reference is not None
                    else None
                ),
                reasons=[reason.value for reason in r.verdict.reasons],
                locked=r.locked,
            )
            for r in results
        ],
    )
