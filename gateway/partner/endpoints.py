"""The partner API for institutions in pull mode (`/partner/v1`, SM2-signed, Idempotency-Key on POST).

Object-level authorization: an institution finds only applications routed to it (quote requested of
it) and acts on an order only once the bidder chose it; anything else is a 404, so ids cannot be probed.
Every refusal is a problem with a stable code, logged, and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_args

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from contracts.institutions import IssuedGuarantee, IssueRequest, QuoteRequest
from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.broker import errors as broker_errors
from gateway.broker.tables import Application
from gateway.composition import Container, container_of
from gateway.db import transaction
from gateway.errors import GatewayError
from gateway.http.schemas import PROBLEM_RESPONSES
from gateway.partner import repository, service
from gateway.partner.schemas import (
    DecisionAck,
    DecisionIn,
    NoticeOut,
    NoticePage,
    PartnerApplicationOut,
    PartnerApplicationPage,
    PartnerStatus,
    QuoteIn,
    QuoteOut,
)
from gateway.partner.tables import PartnerRoute

log = logging.getLogger("gateway.partner")
router = APIRouter(prefix="/partner/v1", tags=["partner"])
Institution = Annotated[Caller, Depends(require_role("institution"))]
ApplicationId = Annotated[str, Path(min_length=1, max_length=40)]
T = TypeVar("T")
STATUSES = get_args(PartnerStatus)


def _problems(**described: str) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403]}
    for status, codes in described.items():
        responses[int(status)] = {**PROBLEM_RESPONSES[int(status)], "description": codes}
    return responses


def application_out(row: PartnerRoute, app: Application, stage: str) -> PartnerApplicationOut:
    chosen = app.institution_code == row.institution_code
    return PartnerApplicationOut.model_validate(
        {
            "application_id": app.id,
            "status": stage,
            # Another institution's progress is not this one's business.
            "application_status": app.status if chosen or app.status in ("quoting", "offered") else "closed",
            "quote_request": QuoteRequest.model_validate_json(row.quote_request),
            "quote": QuoteOut(
                status=row.quote_status,
                premium_fen=row.quote_premium_fen,
                decision=row.quote_decision,
                valid_until=row.quote_valid_until,
                declined_reason=row.quote_declined_reason,
            ),
            "premium_fen": app.premium_fen if chosen else None,
            "issue_request": IssueRequest.model_validate_json(row.issue_request)
            if chosen and row.issue_request
            else None,
            "guarantee_no": app.guarantee_no if chosen else None,
            "updated_at": max(row.updated_at, app.updated_at),
        }
    )


def _read(container: Container, application_id: str, code: str) -> PartnerApplicationOut:
    with container.sessions() as session:
        found = repository.one_route(session, application_id, code)
        if found is None:
            raise broker_errors.ApplicationNotFound(f"no application {application_id!r} routed to you")
        return application_out(*found)


async def _act(
    request: Request, caller: Caller, application_id: str, action: str, work: Callable[[Session], None]
) -> PartnerApplicationOut:
    """Run one partner action in its own transaction; log each refusal with its code."""
    container = container_of(request)
    return await _act_then(
        request, caller, application_id, action, work,
        lambda: _read(container, application_id, caller.subject),
    )  # fmt: skip


async def _act_then(
    request: Request,
    caller: Caller,
    application_id: str,
    action: str,
    work: Callable[[Session], None],
    read: Callable[[], T],
) -> T:
    """`_act` with the answer read by `read` after the commit."""
    container = container_of(request)

    def run() -> T:
        try:
            with transaction(container.sessions) as session:
                work(session)
        except GatewayError as exc:
            log.warning(
                "partner request refused",
                extra={"code": exc.code, "institution": caller.subject, "application_id": application_id,
                       "action": action, "reason": exc.detail},
            )  # fmt: skip
            raise
        log.info(
            "partner %s", action, extra={"institution": caller.subject, "application_id": application_id}
        )
        return read()

    return await anyio.to_thread.run_sync(run)


@router.get("/applications", response_model=PartnerApplicationPage, responses=_problems())
def list_applications(
    request: Request,
    caller: Institution,
    status: Annotated[PartnerStatus | None, Query(description=f"one of {', '.join(STATUSES)}")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str, Query(pattern=r"^[0-9]{0,18}$", description="a next_cursor")] = "",
) -> PartnerApplicationPage:
    """Applications routed to you, oldest first; filter by what you have to do (`quote_requested`,
    `awaiting_decision`, `awaiting_issuance`) or by outcome."""
    with container_of(request).sessions() as session:
        rows = repository.routes_page(
            session, caller.subject, status=status, after=int(after or 0), limit=limit + 1
        )
        data = [application_out(*row) for row in rows[:limit]]
        last = rows[limit - 1][0].id if len(rows) > limit else None
    return PartnerApplicationPage(
        data=data, has_more=last is not None, next_cursor=str(last) if last else None
    )


@router.get(
    "/applications/{application_id}",
    response_model=PartnerApplicationOut,
    responses=_problems(**{"404": "application_not_found"}),
)
def get_application(
    application_id: ApplicationId, request: Request, caller: Institution
) -> PartnerApplicationOut:
    return _read(container_of(request), application_id, caller.subject)


@router.post(
    "/applications/{application_id}/quote",
    response_model=PartnerApplicationOut,
    responses=_problems(
        **{
            "404": "application_not_found",
            "409": "quote_closed",
            "422": "premium_above_schedule, valid_until_past, validation",
        }
    ),
)
async def post_quote(
    application_id: ApplicationId, body: QuoteIn, request: Request, caller: Institution
) -> PartnerApplicationOut:
    """Answer an open quote request (status `quote_requested`) before the fan-out deadline (3 s):
    a premium at or below `quote_request.schedule_premium_fen`, or `declined` with a reason."""
    now = container_of(request).clock()
    return await _act(
        request, caller, application_id, "quote",
        lambda session: service.post_quote(session, caller.subject, application_id, body, now=now),
    )  # fmt: skip


@router.post(
    "/applications/{application_id}/decision",
    response_model=PartnerApplicationOut | DecisionAck,
    responses=_problems(**{"404": "application_not_found", "409": "already_decided, not_awaiting_decision"}),
)
async def post_decision(
    application_id: ApplicationId, body: DecisionIn, request: Request, caller: Institution
) -> PartnerApplicationOut | DecisionAck:
    """Approve or reject an application the bidder accepted you for (status `awaiting_decision`).
    The same decision again is a no-op (200); a different one after a decision is 409
    `already_decided`. A push institution's review callback lands here too and is answered with a
    `DecisionAck` (it has no pull-mode route)."""
    container = container_of(request)
    now = container.clock()

    def read() -> PartnerApplicationOut | DecisionAck:
        with container.sessions() as session:
            found = repository.one_route(session, application_id, caller.subject)
            if found is not None:
                return application_out(*found)
            app = session.get(Application, application_id)
            assert app is not None  # the decision was just accepted for it
            return DecisionAck(application_id=app.id, application_status=app.status)

    def work(session: Session) -> None:
        service.post_decision(session, caller.subject, application_id, body, now=now)

    return await _act_then(request, caller, application_id, "decision", work, read)


@router.post(
    "/applications/{application_id}/issuance",
    response_model=PartnerApplicationOut,
    responses=_problems(
        **{
            "404": "application_not_found",
            "409": "already_issued, not_awaiting_issuance, guarantee_no_taken",
            "422": "signature_invalid, data_mismatch, letter_invalid, validation",
        }
    ),
)
async def post_issuance(
    application_id: ApplicationId, body: IssuedGuarantee, request: Request, caller: Institution
) -> PartnerApplicationOut:
    """The issued guarantee for a paid order (status `awaiting_issuance`): the guarantee data, your SM2
    signature over `canonical_json(data.signed_value())` (verified against your certificate before it
    is accepted) and optionally the letter PDF, which must print `issue_request.verification_code`."""
    now = container_of(request).clock()
    return await _act(
        request, caller, application_id, "issuance",
        lambda session: service.post_issuance(session, caller.subject, application_id, body, now=now),
    )  # fmt: skip


@router.get("/notices", response_model=NoticePage, responses=_problems())
def list_notices(
    request: Request,
    caller: Institution,
    pending: bool = True,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str, Query(pattern=r"^[0-9]{0,18}$")] = "",
) -> NoticePage:
    """Surrenders, claims and extension requests for your guarantees; acknowledge each once handled."""
    import json

    with container_of(request).sessions() as session:
        rows = repository.notices_page(
            session, caller.subject, pending=pending, after=int(after or 0), limit=limit + 1
        )
        data = [
            NoticeOut(
                id=str(n.id),
                kind=n.kind,
                guarantee_no=n.guarantee_no,
                payload=json.loads(n.payload),
                created_at=n.created_at,
                acknowledged_at=n.acknowledged_at,
            )
            for n in rows[:limit]
        ]
    has_more = len(rows) > limit
    return NoticePage(data=data, has_more=has_more, next_cursor=data[-1].id if has_more else None)


@router.post(
    "/notices/{notice_id}/acknowledge",
    status_code=204,
    responses=_problems(**{"404": "notice_not_found"}),
)
def acknowledge_notice(
    notice_id: Annotated[int, Path(ge=1, le=10**18)], request: Request, caller: Institution
) -> None:
    container = container_of(request)
    with transaction(container.sessions) as session:
        service.acknowledge_notice(session, caller.subject, notice_id, now=container.clock())
