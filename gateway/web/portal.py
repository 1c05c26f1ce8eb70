"""The bidder portal (/portal): server-rendered pages over the broker, called in process.

Same rules as the bidder API: a bidder finds only its own orders and guarantees (anyone else's is a
404 page), every refusal carries the API's problem code, shown as a Chinese sentence. Every POST form
carries the session's CSRF token; pay also carries an idempotency key rendered into the form, so a
double-clicked (or re-sent) pay runs once and the repeat shows the first one's result.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from contracts.enums import GuaranteeStatus, Product, SurrenderReason
from gateway.broker.workflow import Broker
from gateway.composition import container_of
from gateway.db import transaction
from gateway.deposits import service as deposits
from gateway.deposits.schemas import DepositAccountOut
from gateway.errors import GatewayError
from gateway.sections import repository as sections_repository
from gateway.sections.tables import Center
from gateway.web import queries
from gateway.web.messages import message_for
from gateway.web.once import new_form_key, run_once
from gateway.web.pages import add_sign_in, not_found, render, see_other
from gateway.web.session import PORTAL, WebSession, acting, signed_in

router = APIRouter(prefix="/portal", include_in_schema=False)
Me = Annotated[WebSession, Depends(signed_in(PORTAL))]
Acting = Annotated[WebSession, Depends(acting(PORTAL))]  # a form post: signed in, and its CSRF matches

# States in which the order moves without the bidder: the order page polls (htmx) until it settles.
MOVING: Final = frozenset({"draft", "quoting", "accepted", "paid"})
SURRENDER_REASONS: Final = [(reason.value, reason.zh) for reason in SurrenderReason]
NOTICES: Final = {
    "applied": "已提交申请，金融机构报价如下。",
    "accepted": "已选择报价。",
    "paid": "支付成功，保函已出具。",
    "paid_pending": "支付成功，保函正在出具，请稍候。",
    "surrendered": "已申请退保，保费将原路退回。",
    "cancelled": "订单已撤销。",
}

add_sign_in(router, PORTAL)


def _page(
    request: Request, me: WebSession, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return render(request, f"portal/{template}", {"me": me, "area": PORTAL, **context}, status_code)


# ---------------------------------------------------------------------- sections, apply, deposit


def _sections_page(
    request: Request,
    me: WebSession,
    *,
    error: str | None = None,
    error_section: str | None = None,
    chosen_product: str = Product.BID.value,
    status_code: int = 200,
) -> HTMLResponse:
    container = container_of(request)
    with container.sessions() as session:
        rows = list(sections_repository.open_sections(session, now=container.clock(), after="", limit=200))
        centers = {row.code: row.name for row in session.query(Center).all()}
        for row in rows:
            session.expunge(row)
    return _page(
        request, me, "sections.html",
        {
            "sections": rows, "centers": centers, "error": error, "error_section": error_section,
            "chosen_product": chosen_product,
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("/sections", response_class=HTMLResponse)
def sections(request: Request, me: Me) -> Response:
    return _sections_page(request, me)


@router.post("/sections/{section_code}/apply", response_class=HTMLResponse)
def apply(
    section_code: str, request: Request, me: Acting, product: Annotated[str, Form()] = Product.BID.value
) -> Response:
    try:
        chosen = Product(product)
    except ValueError:
        return _sections_page(
            request, me, error=message_for("product_not_offered"), error_section=section_code,
            chosen_product=product, status_code=422,
        )  # fmt: skip
    try:
        application_id = Broker.from_container(container_of(request)).apply(
            bidder=me.subject, bidder_name=me.name, section_code=section_code, product=chosen
        )
    except GatewayError as exc:
        return _sections_page(
            request, me, error=message_for(exc.code), error_section=section_code,
            chosen_product=product, status_code=exc.status,
        )  # fmt: skip
    return see_other(f"/portal/orders/{application_id}?notice=applied")


@router.get("/sections/{section_code}/deposit", response_class=HTMLResponse)
def deposit(section_code: str, request: Request, me: Me) -> Response:
    """Where to pay a cash deposit instead: the bidder's own sub-account, allocated by the deposits
    service exactly as `GET /v1/sections/{code}/deposit-account` does (the same number every time)."""
    container = container_of(request)
    try:
        with transaction(container.sessions) as session:
            section = queries.open_section(session, section_code, now=container.clock())
            if section is None:
                return not_found(request, me)
            view = deposits.deposit_account(
                session, section_code=section.code, bidder_uscc=me.subject, bidder_name=me.name,
                now=container.clock(),
            )  # fmt: skip
            account = DepositAccountOut(
                section_code=view.section.code, subaccount=view.subaccount,
                account_name=view.escrow.account_name, bank_name=view.escrow.bank_name,
                escrow_account_no=view.escrow.account_no, amount_due_fen=view.section.deposit_fen,
                bid_deadline_at=view.section.bid_deadline_at,
            )  # fmt: skip
            session.expunge(section)
    except GatewayError as exc:  # e.g. the center has no escrow account configured
        return _sections_page(
            request, me, error=message_for(exc.code), error_section=section_code, status_code=exc.status
        )
    return _page(request, me, "deposit.html", {"section": section, "account": account})


# ---------------------------------------------------------------------- orders


@router.get("/orders", response_class=HTMLResponse)
def orders(request: Request, me: Me) -> Response:
    with container_of(request).sessions() as session:
        rows = list(queries.bidders_orders(session, me.subject))
        session.expunge_all()
    return _page(request, me, "orders.html", {"orders": rows})


def _order_context(
    request: Request, me: WebSession, application_id: str, **extra: Any
) -> dict[str, Any] | None:
    with container_of(request).sessions() as session:
        view = queries.order_view(session, application_id, me.subject)
        if view is None:
            return None
        session.expunge_all()
    return {
        "order": view,
        "app": view.app,
        "status": GuaranteeStatus(view.app.status),
        "moving": view.app.status in MOVING,
        "pay_key": new_form_key(),
        "surrender_reasons": SURRENDER_REASONS,
        "error": None,
        "notice": None,
        "chosen_offer": view.app.accepted_offer_id,
        "chosen_reason": "",
        **extra,
    }


def _order_page(
    request: Request,
    me: WebSession,
    application_id: str,
    *,
    template: str = "order.html",
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context = _order_context(request, me, application_id, **extra)
    if context is None:
        return not_found(request, me)
    return _page(request, me, template, context, status_code=status_code)


@router.get("/orders/{application_id}", response_class=HTMLResponse)
def order(application_id: str, request: Request, me: Me, notice: str = "") -> Response:
    return _order_page(request, me, application_id, notice=NOTICES.get(notice))


@router.get("/orders/{application_id}/live", response_class=HTMLResponse)
def order_live(application_id: str, request: Request, me: Me) -> Response:
    """The order's body alone, for htmx polling while the order moves on its own."""
    return _order_page(request, me, application_id, template="order_body.html")


@router.post("/orders/{application_id}/accept", response_class=HTMLResponse)
def accept(
    application_id: str, request: Request, me: Acting, offer_id: Annotated[str, Form()] = ""
) -> Response:
    try:
        Broker.from_container(container_of(request)).accept(
            bidder=me.subject, application_id=application_id, offer_id=offer_id
        )
    except GatewayError as exc:
        return _order_page(
            request, me, application_id, status_code=exc.status, error=message_for(exc.code),
            chosen_offer=offer_id,
        )  # fmt: skip
    return see_other(f"/portal/orders/{application_id}?notice=accepted")


@router.post("/orders/{application_id}/pay", response_class=HTMLResponse)
def pay(
    application_id: str,
    request: Request,
    me: Acting,
    pay_key: Annotated[str, Form()] = "",
    method: Annotated[str, Form()] = "sandbox",
) -> Response:
    container = container_of(request)

    def work() -> str:
        Broker.from_container(container).pay(bidder=me.subject, application_id=application_id, method=method)
        return ""

    outcome = run_once(
        container, caller=me.caller.key, form_key=pay_key, path=f"/portal/orders/{application_id}/pay",
        fingerprint=f"pay\n{application_id}\n{method}", work=work, busy_code="payment_in_progress",
    )  # fmt: skip
    if outcome.done:
        # Issued already, or still being issued: decided now, so a repeat sees the latest state too.
        with container.sessions() as session:
            view = queries.order_view(session, application_id, me.subject)
            issued = view is not None and view.app.status not in MOVING
        return see_other(f"/portal/orders/{application_id}?notice={'paid' if issued else 'paid_pending'}")
    return _order_page(
        request, me, application_id, status_code=outcome.status, error=message_for(outcome.body)
    )


@router.post("/orders/{application_id}/surrender", response_class=HTMLResponse)
def surrender(
    application_id: str, request: Request, me: Acting, reason: Annotated[str, Form()] = ""
) -> Response:
    container = container_of(request)
    with container.sessions() as session:
        view = queries.order_view(session, application_id, me.subject)
        guarantee_no = view.app.guarantee_no if view is not None else None
    if view is None:
        return not_found(request, me)
    try:
        chosen = SurrenderReason(reason)
    except ValueError:
        return _order_page(
            request, me, application_id, status_code=422, error="请选择退保原因。", chosen_reason=reason
        )
    if guarantee_no is None:
        return _order_page(
            request, me, application_id, status_code=409, error=message_for("surrender_not_allowed")
        )
    try:
        Broker.from_container(container).surrender(
            bidder=me.subject, guarantee_no=guarantee_no, reason=chosen
        )
    except GatewayError as exc:
        return _order_page(
            request, me, application_id, status_code=exc.status, error=message_for(exc.code),
            chosen_reason=reason,
        )  # fmt: skip
    return see_other(f"/portal/orders/{application_id}?notice=surrendered")


@router.post("/orders/{application_id}/cancel", response_class=HTMLResponse)
def cancel(application_id: str, request: Request, me: Acting) -> Response:
    try:
        Broker.from_container(container_of(request)).cancel(bidder=me.subject, application_id=application_id)
    except GatewayError as exc:
        return _order_page(request, me, application_id, status_code=exc.status, error=message_for(exc.code))
    return see_other(f"/portal/orders/{application_id}?notice=cancelled")


@router.get("/guarantees/{guarantee_no}/letter.pdf")
def letter(guarantee_no: str, request: Request, me: Me) -> Response:
    with container_of(request).sessions() as session:
        row = queries.bidders_guarantee(session, guarantee_no, me.subject)
        pdf = row.letter_pdf if row is not None else None
    if pdf is None:
        return not_found(request, me)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{guarantee_no}.pdf"'},
    )
