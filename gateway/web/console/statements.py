"""Console: upload the escrow account's bank statement and reconcile it (gateway.reconciliation, called
in process as `POST /finance/v1/statements` does), the runs and what they matched, and the two
exception lists (statement lines and ledger items nothing matched) with their actions: match by hand,
write off with a reason. A file that does not parse is refused with where, and changes nothing."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Final

import anyio.to_thread
from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from contracts.statements import Statement
from gateway.composition import container_of, statement_parsers
from gateway.db import transaction
from gateway.errors import GatewayError
from gateway.finance.matching import MatchingRules
from gateway.reconciliation import endpoints as api
from gateway.reconciliation import reports, service
from gateway.reconciliation.schemas import ManualMatchIn, WriteOffIn
from gateway.reconciliation.settlement import settle_seam
from gateway.web.console.common import Acting, FormatParam, Me, act, export, invalid, page, plain_id
from gateway.web.messages import message_for
from gateway.web.pages import not_found

router = APIRouter()
FORMATS: Final = (("csv", "CSV（国内网银导出）"), ("camt053", "ISO 20022 camt.053"), ("mt940", "SWIFT MT940"))
MAX_BYTES: Final = 20 * 1024 * 1024
LIST_LIMIT: Final = 200
NOTICES = {
    "imported": "对账单已导入并完成对账。",
    "matched": "已人工匹配。",
    "written_off": "已核销。",
}


def _statements_page(request: Request, me: Me, status_code: int = 200, **extra: Any) -> Response:
    with container_of(request).sessions() as session:
        runs = [reports.run_out(row) for row in reports.runs(session, me.subject, after="", limit=10)]
        lines = [
            reports.line_out(row)
            for row in reports.lines(session, me.subject, status="open", after=0, limit=LIST_LIMIT)
        ]
        items = reports.open_items(session, me.subject, after="", limit=LIST_LIMIT)
    context = {
        "nav": "statements", "runs": runs, "lines": lines, "items": items, "formats": FORMATS,
        "chosen_format": "csv", "upload_error": None, "match_error": None, "picked_lines": [],
        "picked_items": [], "match_note": "", "returned": False, "write_off_error": None,
        "write_off_key": None, **extra,
    }  # fmt: skip
    return page(request, me, "statements.html", context, status_code)


@router.get("/statements", response_class=HTMLResponse)
def statements(request: Request, me: Me, notice: str = "") -> Response:
    return _statements_page(request, me, notice=NOTICES.get(notice))


@router.post("/statements", response_class=HTMLResponse)
async def upload(
    request: Request,
    me: Acting,
    file: UploadFile | None = None,
    statement_format: Annotated[str, Form()] = "csv",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    chosen = statement_format if statement_format in dict(FORMATS) else "csv"
    data = await file.read(MAX_BYTES + 1) if file is not None else b""
    filename = (file.filename or "statement") if file is not None else "statement"

    def again(error: str, status_code: int) -> Response:
        return _statements_page(request, me, status_code, upload_error=error, chosen_format=chosen)

    if not data:
        return await anyio.to_thread.run_sync(lambda: again("请选择要上传的对账单文件。", 422))
    if len(data) > MAX_BYTES:
        return await anyio.to_thread.run_sync(lambda: again("文件过大（最大 20 MB）。", 413))
    container = container_of(request)

    def work(parsed: list[Statement]) -> str:
        with transaction(container.sessions) as session:
            result = service.import_and_reconcile(
                session, center=me.subject, statements=parsed, data=data, fmt=chosen,
                filename=filename, actor=me.caller.key, now=container.clock(), settle=settle_seam(),
                rules=MatchingRules(),
            )  # fmt: skip
            return f"/console/statements/runs/{result.run.id}?notice=imported"

    def run() -> Response:
        # A file that does not parse says where (the parser's line or element); nothing is kept.
        try:
            parsed = service.parse_statement(statement_parsers(), data, chosen)
        except GatewayError as exc:
            where = exc.extra.get("location")
            detail = f"（位置：{where}；{exc.detail}）" if where else f"（{exc.detail}）"
            return again(message_for(exc.code) + detail, exc.status)
        return act(
            request, me, form_key=form_key,
            fingerprint=f"statement\n{chosen}\n{hashlib.sha256(data).hexdigest()}",
            work=lambda: work(parsed), on_refusal=again,
        )  # fmt: skip

    return await anyio.to_thread.run_sync(run)  # parsing and matching are CPU work: off the event loop


@router.get("/statements/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: str, request: Request, me: Me, notice: str = "") -> Response:
    if not plain_id(run_id):
        return not_found(request, me)
    with container_of(request).sessions() as session:
        try:
            run = reports.run_out(reports.get_run(session, me.subject, run_id))
        except GatewayError:
            return not_found(request, me)
        matches = reports.matches(session, me.subject, run_id, after="", limit=LIST_LIMIT)
    context = {"nav": "statements", "run": run, "matches": matches, "notice": NOTICES.get(notice)}
    return page(request, me, "run.html", context)


@router.get("/statements/runs/{run_id}/export")
def run_export(run_id: str, request: Request, me: Me, fmt: FormatParam = "xlsx") -> Response:
    if not plain_id(run_id):
        return not_found(request, me)
    return export(
        request, me, fmt, lambda caller, kind: api.list_matches(run_id, request, caller, format=kind)
    )


@router.get("/statements/unmatched-lines/export")
def lines_export(request: Request, me: Me, fmt: FormatParam = "xlsx") -> Response:
    return export(
        request, me, fmt, lambda caller, kind: api.list_unmatched_lines(request, caller, format=kind)
    )


@router.get("/statements/unmatched-items/export")
def items_export(request: Request, me: Me, fmt: FormatParam = "xlsx") -> Response:
    return export(
        request, me, fmt, lambda caller, kind: api.list_unmatched_items(request, caller, format=kind)
    )


@router.post("/statements/match", response_class=HTMLResponse)
def match(
    request: Request,
    me: Acting,
    line_ids: Annotated[list[str] | None, Form()] = None,
    transfer_ids: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form()] = "",
    returned: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    """Match the ticked statement lines with the ticked ledger items (their amounts must agree)."""
    picked_lines = [value for value in line_ids or [] if value.isdigit()]
    picked_items = [value for value in transfer_ids or [] if plain_id(value)]

    def again(error: str, status_code: int) -> Response:
        return _statements_page(
            request, me, status_code, match_error=error, picked_lines=picked_lines,
            picked_items=picked_items, match_note=note, returned=bool(returned),
        )  # fmt: skip

    try:
        body = ManualMatchIn(
            line_ids=[int(value) for value in picked_lines], transfer_ids=picked_items,
            note=note.strip(), returned=bool(returned),
        )  # fmt: skip
    except ValidationError as exc:
        return again(
            invalid(
                exc, {"line_ids": "对账单流水（至少选一笔）", "transfer_ids": "账簿记录", "note": "说明"}
            ),
            422,
        )
    container = container_of(request)

    def work() -> str:
        with transaction(container.sessions) as session:
            service.manual_match(
                session, center=me.subject, line_ids=body.line_ids, transfer_ids=body.transfer_ids,
                note=body.note, returned=body.returned, actor=me.caller.key, now=container.clock(),
                settle=settle_seam(),
            )  # fmt: skip
        return "/console/statements?notice=matched"

    return act(
        request, me, form_key=form_key, fingerprint=f"match\n{body.model_dump_json()}", work=work,
        on_refusal=again,
    )  # fmt: skip


@router.post("/statements/lines/{line_id}/write-off", response_class=HTMLResponse)
def write_off_line(
    line_id: str,
    request: Request,
    me: Acting,
    reason: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    return _write_off(request, me, "line", line_id, reason, form_key)


@router.post("/statements/items/{transfer_id}/write-off", response_class=HTMLResponse)
def write_off_item(
    transfer_id: str,
    request: Request,
    me: Acting,
    reason: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    return _write_off(request, me, "item", transfer_id, reason, form_key)


def _write_off(request: Request, me: Acting, kind: str, key: str, reason: str, form_key: str) -> Response:
    """Close an unmatched line or ledger item with a reason (it stays in the records)."""
    if not (key.isdigit() if kind == "line" else plain_id(key)):
        return not_found(request, me)

    def again(error: str, status_code: int) -> Response:
        return _statements_page(
            request, me, status_code, write_off_error=error, write_off_key=f"{kind}:{key}"
        )

    try:
        body = WriteOffIn(reason=reason.strip())
    except ValidationError as exc:
        return again(invalid(exc, {"reason": "核销原因"}), 422)
    container = container_of(request)

    def work() -> str:
        with transaction(container.sessions) as session:
            if kind == "line":
                service.write_off_line(session, center=me.subject, line_id=int(key), reason=body.reason)
            else:
                service.write_off_item(
                    session, center=me.subject, transfer_id=key, reason=body.reason, now=container.clock()
                )
        return "/console/statements?notice=written_off"

    return act(
        request, me, form_key=form_key, fingerprint=f"write-off\n{kind}\n{key}\n{body.reason}", work=work,
        on_refusal=again,
    )  # fmt: skip
