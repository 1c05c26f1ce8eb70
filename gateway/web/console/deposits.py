"""Console: cash deposits by section and status, one deposit (forfeit with a reason), and the exception
queue (money that matched no deposit: assign it to a bidder and section, or return it to the payer).
Actions call gateway.deposits' services in process, exactly as the finance API does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from contracts.uscc import Uscc
from gateway.composition import container_of
from gateway.db import transaction
from gateway.deposits import finance_endpoints as api
from gateway.deposits import refunds, rules, service
from gateway.deposits.schemas import AssignIn, ForfeitIn, ReturnIn
from gateway.web.console import queries
from gateway.web.console.common import Acting, FormatParam, Me, act, export, invalid, page, plain_id
from gateway.web.labels import choices
from gateway.web.messages import message_for
from gateway.web.pages import not_found

router = APIRouter()
FORFEITABLE = (rules.HELD, rules.LOCKED, rules.REFUNDABLE)
NOTICES = {
    "forfeited": "保证金已没收，转为应付招标人。",
    "assigned": "款项已认领为投标人的保证金。",
    "returning": "退回指令已生成并发送银行，银行付款结果到达后状态自动更新。",
}
EXCEPTION_STATUSES = ("open", "assigned", "returning", "returned")


# ---------------------------------------------------------------------- deposits


@router.get("/deposits", response_class=HTMLResponse)
def deposits(request: Request, me: Me, section: str = "", status: str = "", after: str = "") -> Response:
    with container_of(request).sessions() as session:
        sections = queries.center_sections(session, me.subject)
        section = section if section in dict(sections) else ""
        status = status if status in rules.DEPOSIT_STATUSES else ""
        after = after if plain_id(after) else ""
        rows = list(queries.deposits(session, me.subject, section=section, status=status, after=after))
        totals = queries.deposit_totals(session, me.subject)
        session.expunge_all()
    query = f"?section={section}&status={status}"
    context = {
        "nav": "deposits", "sections": sections, "section": section, "status": status, "rows": rows,
        "totals": totals, "statuses": choices("deposit"), "query": query,
        "next": rows[-1].id if len(rows) == queries.PAGE else None,
    }  # fmt: skip
    return page(request, me, "deposits.html", context)


@router.get("/deposits/export")
def deposits_export(
    request: Request, me: Me, fmt: FormatParam = "xlsx", section: str = "", status: str = ""
) -> Response:
    return export(
        request, me, fmt,
        lambda caller, kind: api.list_deposits(
            request, caller, section=section or None, status=status or None, limit=10_000, format=kind
        ),
    )  # fmt: skip


def _deposit_page(
    request: Request, me: Me, deposit_id: str, status_code: int = 200, **extra: Any
) -> Response:
    with container_of(request).sessions() as session:
        row = queries.deposit(session, me.subject, deposit_id) if plain_id(deposit_id) else None
        if row is None:
            return not_found(request, me)
        instructions = list(queries.instructions_of_deposit(session, row.id))
        sections = dict(queries.center_sections(session, me.subject))
        session.expunge_all()
    context = {
        "nav": "deposits", "deposit": row, "instructions": instructions,
        "section_name": sections.get(row.section_code, ""), "forfeitable": row.status in FORFEITABLE,
        "reason": "", **extra,
    }  # fmt: skip
    return page(request, me, "deposit.html", context, status_code)


@router.get("/deposits/{deposit_id}", response_class=HTMLResponse)
def deposit(deposit_id: str, request: Request, me: Me, notice: str = "") -> Response:
    return _deposit_page(request, me, deposit_id, notice=NOTICES.get(notice))


@router.post("/deposits/{deposit_id}/forfeit", response_class=HTMLResponse)
def forfeit(
    deposit_id: str,
    request: Request,
    me: Acting,
    reason: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    def again(error: str, status_code: int) -> Response:
        return _deposit_page(request, me, deposit_id, status_code, error=error, reason=reason)

    if not plain_id(deposit_id):
        return not_found(request, me)
    try:
        body = ForfeitIn(reason=reason.strip())
    except ValidationError as exc:
        return again(invalid(exc, {"reason": "没收原因"}), 422)
    container = container_of(request)

    def work() -> str:
        with transaction(container.sessions) as session:
            service.forfeit_deposit(
                session, deposit_id, center=me.subject, reason=body.reason, actor=me.caller.key,
                now=container.clock(),
            )  # fmt: skip
        return f"/console/deposits/{deposit_id}?notice=forfeited"

    return act(
        request, me, form_key=form_key, fingerprint=f"forfeit\n{deposit_id}\n{body.reason}", work=work,
        on_refusal=again,
    )  # fmt: skip


# ---------------------------------------------------------------------- the exception queue


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions(request: Request, me: Me, status: str = "open", after: str = "") -> Response:
    status = status if status in EXCEPTION_STATUSES else ""
    with container_of(request).sessions() as session:
        after = after if plain_id(after) else ""
        rows = list(queries.exceptions(session, me.subject, status=status, after=after))
        counts = queries.exception_counts(session, me.subject)
        session.expunge_all()
    context = {
        "nav": "exceptions", "rows": rows, "status": status, "counts": counts,
        "statuses": choices("exception"), "next": rows[-1].id if len(rows) == queries.PAGE else None,
    }  # fmt: skip
    return page(request, me, "exceptions.html", context)


@router.get("/exceptions/export")
def exceptions_export(request: Request, me: Me, fmt: FormatParam = "xlsx", status: str = "") -> Response:
    status = status if status in EXCEPTION_STATUSES else ""
    return export(
        request, me, fmt,
        lambda caller, kind: api.list_exceptions(request, caller, status=status, limit=10_000, format=kind),
    )  # fmt: skip


def _exception_page(
    request: Request, me: Me, exception_id: str, status_code: int = 200, **extra: Any
) -> Response:
    with container_of(request).sessions() as session:
        row = queries.exception(session, me.subject, exception_id) if plain_id(exception_id) else None
        if row is None:
            return not_found(request, me)
        instruction = queries.instruction(session, me.subject, row.instruction_id)
        sections = queries.center_sections(session, me.subject)
        session.expunge_all()
    form = {"section_code": row.section_code or "", "bidder_uscc": row.bidder_uscc or "", "bidder_name": ""}
    context = {
        "nav": "exceptions", "exception": row, "instruction": instruction, "sections": sections,
        "assign": form, "assign_note": "", "return_note": "", "assign_error": None, "return_error": None,
        **extra,
    }  # fmt: skip
    return page(request, me, "exception.html", context, status_code)


@router.get("/exceptions/{exception_id}", response_class=HTMLResponse)
def exception(exception_id: str, request: Request, me: Me, notice: str = "") -> Response:
    return _exception_page(request, me, exception_id, notice=NOTICES.get(notice))


@router.post("/exceptions/{exception_id}/assign", response_class=HTMLResponse)
def assign(
    exception_id: str,
    request: Request,
    me: Acting,
    section_code: Annotated[str, Form()] = "",
    bidder_uscc: Annotated[str, Form()] = "",
    bidder_name: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    typed = {"section_code": section_code, "bidder_uscc": bidder_uscc, "bidder_name": bidder_name}

    def again(error: str, status_code: int) -> Response:
        return _exception_page(
            request, me, exception_id, status_code, assign=typed, assign_note=note, assign_error=error
        )

    if not plain_id(exception_id):
        return not_found(request, me)
    try:
        body = AssignIn(
            section_code=section_code.strip(), bidder_uscc=bidder_uscc.strip().upper(),
            bidder_name=bidder_name.strip() or None, note=note.strip(),
        )  # fmt: skip
        Uscc.parse(body.bidder_uscc)  # a typo in the code would make a deposit nobody can claim
    except ValidationError as exc:
        fields = {
            "section_code": "标段",
            "bidder_uscc": "统一社会信用代码",
            "bidder_name": "投标人名称",
            "note": "处理说明",
        }
        return again(invalid(exc, fields), 422)
    except ValueError:
        return again(message_for("invalid_uscc"), 422)
    container = container_of(request)

    def work() -> str:
        with transaction(container.sessions) as session:
            service.assign_exception(
                session, exception_id, center=me.subject, section_code=body.section_code,
                bidder_uscc=body.bidder_uscc, bidder_name=body.bidder_name, note=body.note,
                actor=me.caller.key, now=container.clock(),
            )  # fmt: skip
        return f"/console/exceptions/{exception_id}?notice=assigned"

    return act(
        request, me, form_key=form_key, fingerprint=f"assign\n{exception_id}\n{body.model_dump_json()}",
        work=work, on_refusal=again,
    )  # fmt: skip


@router.post("/exceptions/{exception_id}/return", response_class=HTMLResponse)
def return_to_payer(
    exception_id: str,
    request: Request,
    me: Acting,
    note: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
) -> Response:
    def again(error: str, status_code: int) -> Response:
        return _exception_page(request, me, exception_id, status_code, return_note=note, return_error=error)

    if not plain_id(exception_id):
        return not_found(request, me)
    try:
        body = ReturnIn(note=note.strip())
    except ValidationError as exc:
        return again(invalid(exc, {"note": "退回说明"}), 422)
    container = container_of(request)

    def work() -> str:
        with transaction(container.sessions) as session:
            instruction = refunds.return_exception(
                session, exception_id, center=me.subject, note=body.note, actor=me.caller.key,
                now=container.clock(),
            )  # fmt: skip
            instruction_id = instruction.id
        # The bank is called outside the transaction (an unreachable bank leaves it to send again).
        refunds.send_instructions(
            container.sessions, container.escrow(), [instruction_id], clock=container.clock
        )
        return f"/console/exceptions/{exception_id}?notice=returning"

    return act(
        request, me, form_key=form_key, fingerprint=f"return\n{exception_id}\n{body.note}", work=work,
        on_refusal=again,
    )  # fmt: skip
