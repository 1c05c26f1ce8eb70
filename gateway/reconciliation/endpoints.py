"""Finance API for statements and reconciliation (bearer, role finance; a finance user sees only its
own center: the token's subject). Lists take `?format=csv|xlsx` for a download of every row."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response

from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.composition import container_of, statement_parsers
from gateway.db import transaction
from gateway.finance import exports
from gateway.finance.downloads import download
from gateway.finance.matching import MatchingRules
from gateway.http.schemas import PROBLEM_RESPONSES
from gateway.reconciliation import reports, service
from gateway.reconciliation.schemas import (
    ImportOut,
    ItemOut,
    ItemPage,
    LineOut,
    LinePage,
    ManualMatchIn,
    MatchOut,
    MatchPage,
    RunOut,
    RunPage,
    WriteOffIn,
)
from gateway.reconciliation.settlement import settle_seam

router = APIRouter(
    prefix="/finance/v1",
    tags=["reconciliation"],
    responses={401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403]},
)
Finance = Annotated[Caller, Depends(require_role("finance"))]
Limit = Annotated[int, Query(ge=1, le=500)]
ExportFormat = Annotated[
    Literal["json", "csv", "xlsx"], Query(description="json (a page) or a csv/xlsx file")
]


@router.post(
    "/statements",
    response_model=ImportOut,
    status_code=201,
    responses={422: PROBLEM_RESPONSES[422], 413: PROBLEM_RESPONSES[413]},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_statement(
    request: Request,
    caller: Finance,
    format: Annotated[Literal["csv", "camt053", "mt940"], Query()],  # noqa: A002
    account: Annotated[str | None, Query(max_length=64, description="only this account's statements")] = None,
    filename: Annotated[str, Query(max_length=200)] = "statement",
    drift_days: Annotated[int, Query(ge=0, le=30)] = 3,
) -> ImportOut:
    """Upload a bank statement of the center's escrow account (the raw file as the body) and reconcile
    it against the ledger. A bad file is refused with the line or element at fault and changes nothing;
    lines imported before are ignored, so the same statement twice matches nothing twice."""
    data = await request.body()
    container = container_of(request)

    def work() -> ImportOut:  # parsing and matching are CPU work: off the event loop
        statements = service.parse_statement(statement_parsers(), data, format)
        with transaction(container.sessions) as session:
            result = service.import_and_reconcile(
                session, center=caller.subject, statements=statements, data=data, fmt=format,
                filename=filename, actor=caller.key, now=container.clock(), settle=settle_seam(),
                account=account, rules=MatchingRules(drift_days=drift_days),
            )  # fmt: skip
            return ImportOut(
                import_id=result.import_id,
                lines_total=result.lines_total,
                lines_new=result.lines_new,
                run=reports.run_out(result.run),
            )

    return await anyio.to_thread.run_sync(work)


@router.get("/reconciliation/runs", response_model=RunPage)
def list_runs(request: Request, caller: Finance, limit: Limit = 50, after: str = "") -> RunPage:
    """The center's reconciliation runs, newest first, each with its summary."""
    with container_of(request).sessions() as session:
        rows = reports.runs(session, caller.subject, after=after, limit=limit + 1)
        data = [reports.run_out(row) for row in rows[:limit]]
    has_more = len(rows) > limit
    return RunPage(data=data, has_more=has_more, next_cursor=data[-1].id if has_more else None)


@router.get("/reconciliation/runs/{run_id}", response_model=RunOut, responses={404: PROBLEM_RESPONSES[404]})
def get_run(run_id: str, request: Request, caller: Finance) -> RunOut:
    with container_of(request).sessions() as session:
        return reports.run_out(reports.get_run(session, caller.subject, run_id))


@router.get(
    "/reconciliation/runs/{run_id}/matches",
    response_model=MatchPage,
    responses={
        404: PROBLEM_RESPONSES[404],
        200: {"content": {"text/csv": {}, exports.CONTENT_TYPES["xlsx"]: {}}},
    },
)
def list_matches(
    run_id: str,
    request: Request,
    caller: Finance,
    limit: Limit = 100,
    after: str = "",
    format: ExportFormat = "json",  # noqa: A002
) -> MatchPage | Response:
    """What the run matched: each match's rule, outcome (a refund posted or voided) and members."""
    with container_of(request).sessions() as session:
        if format != "json":
            every = reports.matches(session, caller.subject, run_id, after="", limit=None)
            return download(format, "matches", reports.MATCH_COLUMNS, reports.match_rows(every))
        rows = reports.matches(session, caller.subject, run_id, after=after, limit=limit + 1)
    data: list[MatchOut] = rows[:limit]
    has_more = len(rows) > limit
    return MatchPage(data=data, has_more=has_more, next_cursor=data[-1].id if has_more else None)


@router.get(
    "/reconciliation/unmatched-lines",
    response_model=LinePage,
    responses={200: {"content": {"text/csv": {}, exports.CONTENT_TYPES["xlsx"]: {}}}},
)
def list_unmatched_lines(
    request: Request,
    caller: Finance,
    limit: Limit = 100,
    after: Annotated[int, Query(ge=0)] = 0,
    format: ExportFormat = "json",  # noqa: A002
) -> LinePage | Response:
    """Statement lines no run matched and nobody resolved yet (the exception list)."""
    with container_of(request).sessions() as session:
        if format != "json":
            every = [
                reports.line_out(r)
                for r in reports.lines(session, caller.subject, status="open", after=0, limit=None)
            ]
            return download(format, "unmatched_lines", reports.LINE_COLUMNS, reports.line_rows(every))
        rows = reports.lines(session, caller.subject, status="open", after=after, limit=limit + 1)
        data: list[LineOut] = [reports.line_out(r) for r in rows[:limit]]
    has_more = len(rows) > limit
    return LinePage(data=data, has_more=has_more, next_cursor=str(data[-1].id) if has_more else None)


@router.get(
    "/reconciliation/unmatched-items",
    response_model=ItemPage,
    responses={200: {"content": {"text/csv": {}, exports.CONTENT_TYPES["xlsx"]: {}}}},
)
def list_unmatched_items(
    request: Request,
    caller: Finance,
    limit: Limit = 100,
    after: str = "",
    format: ExportFormat = "json",  # noqa: A002
) -> ItemPage | Response:
    """Ledger transfers on the escrow account no statement line matched yet (the other exception list)."""
    with container_of(request).sessions() as session:
        if format != "json":
            every = reports.open_items(session, caller.subject, after="", limit=None)
            return download(format, "unmatched_items", reports.ITEM_COLUMNS, reports.item_rows(every))
        rows = reports.open_items(session, caller.subject, after=after, limit=limit + 1)
    data: list[ItemOut] = rows[:limit]
    has_more = len(rows) > limit
    return ItemPage(data=data, has_more=has_more, next_cursor=data[-1].transfer_id if has_more else None)


@router.post(
    "/reconciliation/matches",
    response_model=MatchOut,
    status_code=201,
    responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
)
def match_by_hand(body: ManualMatchIn, request: Request, caller: Finance) -> MatchOut:
    """Match open lines and items by hand (amounts must agree); pending refunds among the items are
    posted, or voided when `returned`."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        match = service.manual_match(
            session, center=caller.subject, line_ids=body.line_ids, transfer_ids=body.transfer_ids,
            note=body.note, returned=body.returned, actor=caller.key, now=container.clock(),
            settle=settle_seam(),
        )  # fmt: skip
        return MatchOut(
            id=match.id, rule=match.rule, outcome=match.outcome, note=match.note, actor=match.actor,
            created_at=match.created_at, line_ids=sorted(body.line_ids),
            transfer_ids=sorted(body.transfer_ids),
        )  # fmt: skip


@router.post(
    "/reconciliation/unmatched-lines/{line_id}/write-off",
    response_model=LineOut,
    responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
)
def write_off_line(line_id: int, body: WriteOffIn, request: Request, caller: Finance) -> LineOut:
    """Close an unmatched statement line with a reason (it stays in the records)."""
    with transaction(container_of(request).sessions) as session:
        return reports.line_out(
            service.write_off_line(session, center=caller.subject, line_id=line_id, reason=body.reason)
        )


@router.post(
    "/reconciliation/unmatched-items/{transfer_id}/write-off",
    status_code=204,
    responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
)
def write_off_item(transfer_id: str, body: WriteOffIn, request: Request, caller: Finance) -> Response:
    """Close an unmatched ledger item with a reason. The ledger is not changed: a correction, if one is
    needed, is its own transfer."""
    container = container_of(request)
    with transaction(container.sessions) as session:
        service.write_off_item(
            session, center=caller.subject, transfer_id=transfer_id, reason=body.reason, now=container.clock()
        )
    return Response(status_code=204)
