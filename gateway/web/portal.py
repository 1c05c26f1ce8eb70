"""The bidder portal (/portal): server-rendered pages over the broker, called in process.

Same rules as the bidder API: a bidder finds only its own orders and guarantees (anyone else's is a
404 page), every refusal carries the API's problem code, shown as a Chinese sentence. Every POST form
carries the session's CSRF token; pay also carries an idempotency key rendered into the form, so a
double-clicked (or re-sent) pay runs once and the repeat shows the first one's result.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from contracts.enums import DecisionMode, GuaranteeStatus, Product, SurrenderReason
from gateway.auth.tokens import Role, TokenError, verify_token
from gateway.broker.workflow import Broker
from gateway.composition import Container
from gateway.errors import GatewayError
from gateway.idempotency import service as idempotency
from gateway.idempotency.service import IdempotencyPolicy, Outcome, StoredResponse
from gateway.sections import repository as sections_repository
from gateway.sections.tables import Center
from gateway.web import format as fmt
from gateway.web import queries
from gateway.web.deposits import deposit_account
from gateway.web.messages import message_for
from gateway.web.session import (
    PortalSession,
    SignInRequired,
    clear_session_cookie,
    csrf_matches,
    current_session,
    login_csrf_matches,
    new_login_csrf,
    set_login_csrf_cookie,
    set_session_cookie,
)
from signing.sm3 import sm3_hex

router = APIRouter(prefix="/portal", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters.update(
    yuan=fmt.yuan, capitals=fmt.capitals, shanghai=fmt.shanghai, day=fmt.day, grouped=fmt.grouped
)
templates.env.globals.update(Status=GuaranteeStatus, DecisionMode=DecisionMode, Product=Product)

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
_PAY_KEY: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_PAY_WAIT_S: Final = 30.0  # how long a repeated pay waits for the first one to finish


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _session(request: Request) -> PortalSession:
    return current_session(request, _container(request))


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _not_found(request: Request, portal: PortalSession | None) -> HTMLResponse:
    return _render(
        request, "not_found.html", {"portal": portal, "message": message_for("not_found")}, status_code=404
    )


def _csrf_refused(request: Request, portal: PortalSession) -> HTMLResponse:
    return _render(
        request, "error.html", {"portal": portal, "message": message_for("csrf_failed")}, status_code=403
    )


# ---------------------------------------------------------------------- sign in / out


@router.get("", response_class=HTMLResponse)
def home(request: Request) -> Response:
    try:
        _session(request)
    except SignInRequired:
        return _see_other("/portal/login")
    return _see_other("/portal/sections")


def _login_page(
    request: Request, *, message: str | None, token: str = "", status_code: int = 200
) -> Response:
    value = new_login_csrf()
    response = _render(
        request, "login.html", {"portal": None, "message": message, "token": token, "login_csrf": value},
        status_code=status_code,
    )  # fmt: skip
    set_login_csrf_cookie(response, _container(request), value)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, reason: str = "") -> Response:
    known = {"invalid_token", "token_expired", "wrong_role", "signed_out"}
    return _login_page(request, message=message_for(reason) if reason in known else None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, token: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = ""
) -> Response:
    container = _container(request)
    token = token.strip()
    if not login_csrf_matches(request, csrf):
        return _login_page(request, message=message_for("csrf_failed"), token=token, status_code=403)
    try:
        claims = verify_token(container.token_key, token, now=container.clock())
    except TokenError as exc:
        return _login_page(request, message=message_for(exc.code), token=token, status_code=401)
    if claims.role is not Role.BIDDER:
        return _login_page(request, message=message_for("wrong_role"), token=token, status_code=403)
    response = _see_other("/portal/sections")
    max_age = int((claims.expires_at - container.clock()).total_seconds())
    set_session_cookie(response, container, token, max_age)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    portal = _session(request)
    if not csrf_matches(portal, csrf):
        return _csrf_refused(request, portal)
    response = _see_other("/portal/login?reason=signed_out")
    clear_session_cookie(response, _container(request))
    return response


# ---------------------------------------------------------------------- sections, apply, deposit


def _sections_page(
    request: Request,
    portal: PortalSession,
    *,
    error: str | None = None,
    error_section: str | None = None,
    chosen_product: str = Product.BID.value,
    status_code: int = 200,
) -> HTMLResponse:
    container = _container(request)
    with container.sessions() as session:
        rows = list(sections_repository.open_sections(session, now=container.clock(), after="", limit=200))
        centers = {row.code: row.name for row in session.query(Center).all()}
        for row in rows:
            session.expunge(row)
    return _render(
        request,
        "sections.html",
        {
            "portal": portal, "sections": rows, "centers": centers, "error": error,
            "error_section": error_section, "chosen_product": chosen_product,
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("/sections", response_class=HTMLResponse)
def sections(request: Request) -> Response:
    return _sections_page(request, _session(request))


@router.post("/sections/{section_code}/apply", response_class=HTMLResponse)
def apply(
    section_code: str,
    request: Request,
    csrf: Annotated[str, Form()] = "",
    product: Annotated[str, Form()] = Product.BID.value,
) -> Response:
    portal = _session(request)
    if not csrf_matches(portal, csrf):
        return _csrf_refused(request, portal)
    try:
        chosen = Product(product)
    except ValueError:
        return _sections_page(
            request, portal, error=message_for("product_not_offered"), error_section=section_code,
            chosen_product=product, status_code=422,
        )  # fmt: skip
    try:
        application_id = Broker.from_container(_container(request)).apply(
            bidder=portal.uscc, bidder_name=portal.name, section_code=section_code, product=chosen
        )
    except GatewayError as exc:
        return _sections_page(
            request, portal, error=message_for(exc.code), error_section=section_code,
            chosen_product=product, status_code=exc.status,
        )  # fmt: skip
    return _see_other(f"/portal/orders/{application_id}?notice=applied")


@router.get("/sections/{section_code}/deposit", response_class=HTMLResponse)
def deposit(section_code: str, request: Request) -> Response:
    portal = _session(request)
    container = _container(request)
    with container.sessions() as session:
        section = queries.open_section(session, section_code, now=container.clock())
        if section is None:
            return _not_found(request, portal)
        center = session.get(Center, section.center_code)
        account = deposit_account(section, center.name if center else section.center_code, portal.uscc)
        session.expunge(section)
    return _render(request, "deposit.html", {"portal": portal, "section": section, "account": account})


# ---------------------------------------------------------------------- orders


@router.get("/orders", response_class=HTMLResponse)
def orders(request: Request) -> Response:
    portal = _session(request)
    with _container(request).sessions() as session:
        rows = list(queries.bidders_orders(session, portal.uscc))
        session.expunge_all()
    return _render(request, "orders.html", {"portal": portal, "orders": rows})


def _order_context(
    request: Request, portal: PortalSession, application_id: str, **extra: Any
) -> dict[str, Any] | None:
    with _container(request).sessions() as session:
        view = queries.order_view(session, application_id, portal.uscc)
        if view is None:
            return None
        session.expunge_all()
    return {
        "portal": portal,
        "order": view,
        "app": view.app,
        "status": GuaranteeStatus(view.app.status),
        "moving": view.app.status in MOVING,
        "pay_key": secrets.token_urlsafe(24),
        "surrender_reasons": SURRENDER_REASONS,
        "error": None,
        "notice": None,
        "chosen_offer": view.app.accepted_offer_id,
        "chosen_reason": "",
        **extra,
    }


def _order_page(
    request: Request,
    portal: PortalSession,
    application_id: str,
    *,
    template: str = "order.html",
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context = _order_context(request, portal, application_id, **extra)
    if context is None:
        return _not_found(request, portal)
    return _render(request, template, context, status_code=status_code)


@router.get("/orders/{application_id}", response_class=HTMLResponse)
def order(application_id: str, request: Request, notice: str = "") -> Response:
    return _order_page(request, _session(request), application_id, notice=NOTICES.get(notice))


@router.get("/orders/{application_id}/live", response_class=HTMLResponse)
def order_live(application_id: str, request: Request) -> Response:
    """The order's body alone, for htmx polling while the order moves on its own."""
    return _order_page(request, _session(request), application_id, template="order_body.html")


@router.post("/orders/{application_id}/accept", response_class=HTMLResponse)
def accept(
    application_id: str,
    request: Request,
    csrf: Annotated[str, Form()] = "",
    offer_id: Annotated[str, Form()] = "",
) -> Response:
    portal = _session(request)
    if not csrf_matches(portal, csrf):
        return _csrf_refused(request, portal)
    try:
        Broker.from_container(_container(request)).accept(
            bidder=portal.uscc, application_id=application_id, offer_id=offer_id
        )
    except GatewayError as exc:
        return _order_page(
            request, portal, application_id, status_code=exc.status, error=message_for(exc.code),
            chosen_offer=offer_id,
        )  # fmt: skip
    return _see_other(f"/portal/orders/{application_id}?notice=accepted")


@router.post("/orders/{application_id}/pay", response_class=HTMLResponse)
def pay(
    application_id: str,
    request: Request,
    csrf: Annotated[str, Form()] = "",
    pay_key: Annotated[str, Form()] = "",
    method: Annotated[str, Form()] = "sandbox",
) -> Response:
    portal = _session(request)
    if not csrf_matches(portal, csrf):
        return _csrf_refused(request, portal)
    container = _container(request)
    if _PAY_KEY.match(pay_key) is None:
        return _order_page(
            request, portal, application_id, status_code=422, error=message_for("validation_error")
        )
    # The same store the API's Idempotency-Key uses, scoped to this bidder: the first submit claims the
    # key and pays; a repeat (double click, resend) waits for it and shows its result.
    claim_args: dict[str, Any] = {
        "caller": f"bidder:{portal.uscc}",
        "key": f"portal-pay:{pay_key}",
        "method": "POST",
        "path": f"/portal/orders/{application_id}/pay",
        "request_hash": sm3_hex(f"pay\n{application_id}\n{method}".encode()),
        "policy": IdempotencyPolicy(),
    }
    claim = idempotency.claim(container.sessions, now=container.clock(), **claim_args)
    deadline = time.monotonic() + _PAY_WAIT_S
    while claim.outcome is Outcome.IN_FLIGHT and time.monotonic() < deadline:
        time.sleep(0.2)
        claim = idempotency.claim(container.sessions, now=container.clock(), **claim_args)
    if claim.outcome is Outcome.IN_FLIGHT:
        return _order_page(
            request, portal, application_id, status_code=409, error=message_for("payment_in_progress")
        )
    if claim.outcome is Outcome.MISMATCH:
        return _order_page(
            request, portal, application_id, status_code=422, error=message_for("validation_error")
        )
    if claim.outcome is Outcome.REPLAY:
        assert claim.response is not None
        return _pay_result(request, portal, application_id, claim.response)
    assert claim.record_id is not None
    try:
        Broker.from_container(container).pay(bidder=portal.uscc, application_id=application_id, method=method)
    except GatewayError as exc:
        stored = StoredResponse(status=exc.status, headers=[], body=exc.code.encode())
    except BaseException:
        idempotency.release(container.sessions, claim.record_id)
        raise
    else:
        stored = StoredResponse(status=303, headers=[], body=b"")
    idempotency.complete(container.sessions, claim.record_id, stored)
    return _pay_result(request, portal, application_id, stored)


def _pay_result(
    request: Request, portal: PortalSession, application_id: str, stored: StoredResponse
) -> Response:
    if stored.status == 303:
        with _container(request).sessions() as session:
            view = queries.order_view(session, application_id, portal.uscc)
            issued = view is not None and view.app.status not in MOVING
        return _see_other(f"/portal/orders/{application_id}?notice={'paid' if issued else 'paid_pending'}")
    return _order_page(
        request, portal, application_id, status_code=stored.status,
        error=message_for(stored.body.decode(errors="replace")),
    )  # fmt: skip


@router.post("/orders/{application_id}/surrender", response_class=HTMLResponse)
def surrender(
    application_id: str,
    request: Request,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    portal = _session(request)
    if not csrf_matches(portal, csrf):
        return _csrf_refused(request, portal)
    container = _container(request)
    with container.sessions() as session:
        view = queries.order_view(session, application_id, portal.uscc)
        guarantee_no = view.app.guarantee_no if view is not None else None
    if view is None:
        return _not_found(request, portal)
    try:
        chosen = SurrenderReason(reason)
    except ValueError:
        return _order_page(
            request, portal, application_id, status_code=422, error="请选择退保原因。", chosen_reason=reason
        )
    if guarantee_no is None:
        return _order_page(
            request, portal, application_id, status_code=409, error=message_for("surrender_not_allowed")
        )
    try:
        Broker.from_container(container).surrender(
            bidder=portal.uscc, guarantee_no=guarantee_no, reason=chosen
        )
    except GatewayError as exc:
        return _order_page(
            request, portal, application_id, status_code=exc.status, error=message_for(exc.code),
            chosen_reason=reason,
        )  # fmt: skip
    return _see_other(f"/portal/orders/{application_id}?notice=surrendered")


@router.post("/orders/{application_id}/cancel", response_class=HTMLResponse)
def cancel(application_id: str, request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    portal = _session(request)
    if not csrf_matches(portal, csrf):
        return _csrf_refused(request, portal)
    try:
        Broker.from_container(_container(request)).cancel(bidder=portal.uscc, application_id=application_id)
    except GatewayError as exc:
        return _order_page(
            request, portal, application_id, status_code=exc.status, error=message_for(exc.code)
        )
    return _see_other(f"/portal/orders/{application_id}?notice=cancelled")


@router.get("/guarantees/{guarantee_no}/letter.pdf")
def letter(guarantee_no: str, request: Request) -> Response:
    portal = _session(request)
    with _container(request).sessions() as session:
        row = queries.bidders_guarantee(session, guarantee_no, portal.uscc)
        pdf = row.letter_pdf if row is not None else None
    if pdf is None:
        return _not_found(request, portal)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{guarantee_no}.pdf"'},
    )
