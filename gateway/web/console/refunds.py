"""Console: refunds due and overdue (the law's 5 days from contract signing), refund batches (create
and send, list, one batch with its instructions and their states, send again, ask the bank)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from gateway.composition import container_of
from gateway.db import transaction
from gateway.deposits import finance_endpoints as api
from gateway.deposits import refunds, rules
from gateway.deposits.schemas import BatchIn
from gateway.web.console import queries
from gateway.web.console.common import Acting, FormatParam, Me, act, export, invalid, page, plain_id
from gateway.web.pages import not_found, see_other

router = APIRouter()
SHOW = {"all": None, "overdue": True, "upcoming": False}
NOTICES = {
    "created": "退款批次已创建并发送银行。银行付款结果到达后，指令状态自动更新。",
    "sent": "未发送的指令已重新发送银行。",
    "polled": "已向银行查询付款结果。",
}


# ---------------------------------------------------------------------- refunds due


def _refunds_page(
    request: Request, me: Me, show: str = "all", status_code: int = 200, **extra: Any
) -> Response:
    container = container_of(request)
    show = show if show in SHOW else "all"
    today = rules.local_date(container.clock())
    with container.sessions() as session:
        due = queries.refunds_due(session, me.subject, today=today)
        candidates = list(queries.refundable(session, me.subject))
        session.expunge_all()
    wanted = SHOW[show]
    shown = [item for item in due if wanted is None or item.overdue == wanted]
    context = {
        "nav": "refunds", "due": shown, "show": show, "today": today,
        "overdue_count": sum(1 for item in due if item.overdue),
        "overdue_fen": sum(item.deposit.amount_fen for item in due if item.overdue),
        "candidates": candidates, "chosen": None, "refund_date": today.isoformat(), **extra,
    }  # fmt: skip
    return page(request, me, "refunds.html", context, status_code)


@router.get("/refunds", response_class=HTMLResponse)
def refunds_due(request: Request, me: Me, show: str = "all") -> Response:
    return _refunds_page(request, me, show)


@router.get("/refunds/export")
def refunds_export(request: Request, me: Me, fmt: FormatParam = "xlsx", show: str = "all") -> Response:
    overdue = SHOW.get(show)
    return export(
        request, me, fmt, lambda caller, kind: api.refunds_due(request, caller, overdue=overdue, format=kind)
    )


@router.post("/refund-batches", response_class=HTMLResponse)
def create_batch(
    request: Request,
    me: Acting,
    deposit_ids: Annotated[list[str] | None, Form()] = None,
    refund_date: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    """Refund the deposits ticked (all refundable ones are ticked by default) as one batch, then send
    its instructions to the escrow bank, as `POST /finance/v1/refund-batches` does."""
    chosen = [value for value in deposit_ids or [] if plain_id(value)]

    def again(error: str, status_code: int) -> Response:
        return _refunds_page(
            request, me, status_code=status_code, error=error, chosen=chosen, refund_date=refund_date
        )

    if not chosen:
        return again("请至少选择一笔要退还的保证金。", 422)
    try:
        body = BatchIn(deposit_ids=chosen, refund_date=refund_date.strip() or None)
    except ValidationError as exc:
        return again(invalid(exc, {"deposit_ids": "保证金", "refund_date": "退款日期"}), 422)
    container = container_of(request)

    def work() -> str:
        with transaction(container.sessions) as session:
            batch = refunds.create_refund_batch(
                session, center=me.subject, actor=me.caller.key, now=container.clock(),
                rates=api.rate_table(container), basis=container.settings.deposit_interest_basis,
                refund_date=body.refund_date, deposit_ids=body.deposit_ids,
            )  # fmt: skip
            batch_id = batch.id
        _send(request, batch_id)
        return f"/console/batches/{batch_id}?notice=created"

    return act(
        request, me, form_key=form_key, fingerprint=f"batch\n{body.model_dump_json()}", work=work,
        on_refusal=again,
    )  # fmt: skip


# ---------------------------------------------------------------------- refund batches


def _instruction_ids(request: Request, batch_id: str, status: str) -> list[str]:
    with container_of(request).sessions() as session:
        return queries.instruction_ids(session, batch_id, status)


def _send(request: Request, batch_id: str) -> None:
    container = container_of(request)
    ids = _instruction_ids(request, batch_id, refunds.CREATED)
    refunds.send_instructions(container.sessions, container.escrow(), ids, clock=container.clock)


@router.get("/batches", response_class=HTMLResponse)
def batches(request: Request, me: Me) -> Response:
    with container_of(request).sessions() as session:
        rows = queries.batches(session, me.subject)
        session.expunge_all()
    return page(request, me, "batches.html", {"nav": "batches", "rows": rows})


@router.get("/batches/export")
def batches_export(request: Request, me: Me, fmt: FormatParam = "xlsx") -> Response:
    return export(
        request, me, fmt, lambda caller, kind: api.list_batches(request, caller, limit=1000, format=kind)
    )


def _batch_page(request: Request, me: Me, batch_id: str, status_code: int = 200, **extra: Any) -> Response:
    with container_of(request).sessions() as session:
        found = queries.batch(session, me.subject, batch_id) if plain_id(batch_id) else None
        if found is None:
            return not_found(request, me)
        summary, instructions = found
        session.expunge_all()
    context = {
        "nav": "batches", "summary": summary, "batch": summary.batch, "instructions": instructions,
        "can_send": summary.states.get(refunds.CREATED, 0) > 0,
        "can_poll": summary.states.get(refunds.SENT, 0) > 0, **extra,
    }  # fmt: skip
    return page(request, me, "batch.html", context, status_code)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch(batch_id: str, request: Request, me: Me, notice: str = "") -> Response:
    return _batch_page(request, me, batch_id, notice=NOTICES.get(notice))


@router.get("/batches/{batch_id}/export")
def batch_export(batch_id: str, request: Request, me: Me, fmt: FormatParam = "xlsx") -> Response:
    if not plain_id(batch_id):
        return not_found(request, me)
    return export(
        request, me, fmt, lambda caller, kind: api.get_batch(batch_id, request, caller, format=kind)
    )


def _batch_step(request: Request, me: Acting, batch_id: str, step: str) -> Response:
    """Send the batch's unsent instructions, or ask the bank about the sent ones. Both are safe to
    repeat (only `created` ones are sent, only `sent` ones asked), so no form key is needed."""
    with container_of(request).sessions() as session:
        if not plain_id(batch_id) or queries.batch(session, me.subject, batch_id) is None:
            return not_found(request, me)
    container = container_of(request)
    if step == "send":
        _send(request, batch_id)
        return see_other(f"/console/batches/{batch_id}?notice=sent")
    ids = _instruction_ids(request, batch_id, refunds.SENT)
    refunds.poll_sent(container.sessions, container.escrow(), ids, clock=container.clock)
    return see_other(f"/console/batches/{batch_id}?notice=polled")


@router.post("/batches/{batch_id}/send")
def send_batch(batch_id: str, request: Request, me: Acting) -> Response:
    return _batch_step(request, me, batch_id, "send")


@router.post("/batches/{batch_id}/poll")
def poll_batch(batch_id: str, request: Request, me: Acting) -> Response:
    return _batch_step(request, me, batch_id, "poll")
