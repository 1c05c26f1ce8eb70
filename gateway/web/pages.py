"""What every page area shares: the templates (one layout, one stylesheet), rendering, redirects, the
error and not-found pages, and the sign-in / sign-out routes (the same for bidders and finance, per
`Area`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from contracts.enums import DecisionMode, GuaranteeStatus, Product
from gateway.auth.tokens import TokenError, verify_token
from gateway.composition import container_of
from gateway.web import format as fmt
from gateway.web import labels
from gateway.web.messages import message_for
from gateway.web.session import (
    Area,
    SignInRequired,
    WebSession,
    acting,
    clear_session_cookie,
    current_session,
    login_csrf_matches,
    new_login_csrf,
    set_login_csrf_cookie,
    set_session_cookie,
)

TEMPLATES_DIR: Final = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters.update(
    yuan=fmt.yuan, capitals=fmt.capitals, shanghai=fmt.shanghai, day=fmt.day, grouped=fmt.grouped,
    label=labels.label,
)  # fmt: skip
templates.env.globals.update(Status=GuaranteeStatus, DecisionMode=DecisionMode, Product=Product)
# Reasons a sign-in page may be sent to with ?reason= (anything else is ignored, not echoed).
SIGN_IN_REASONS: Final = frozenset(
    {"invalid_token", "token_expired", "wrong_role", "wrong_role_finance", "signed_out"}
)


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def not_found(request: Request, me: WebSession) -> HTMLResponse:
    context = {"me": me, "area": me.area, "message": message_for("not_found")}
    return render(request, "not_found.html", context, status_code=404)


def refused(request: Request, me: WebSession, code: str, status_code: int) -> HTMLResponse:
    """A page that only says why the request was refused (and links back to the area's start)."""
    context = {"me": me, "area": me.area, "message": message_for(code)}
    return render(request, "error.html", context, status_code=status_code)


def add_sign_in(router: APIRouter, area: Area) -> None:
    """The area's start, sign-in form, sign-in and sign-out (router prefix = area.path)."""

    def login_page(
        request: Request, *, message: str | None, token: str = "", status_code: int = 200
    ) -> Response:
        value = new_login_csrf()
        context = {"me": None, "area": area, "message": message, "token": token, "login_csrf": value}
        response = render(request, "login.html", context, status_code=status_code)
        set_login_csrf_cookie(response, container_of(request), area, value)
        return response

    @router.get("", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        try:
            current_session(request, container_of(request), area)
        except SignInRequired:
            return see_other(f"{area.path}/login")
        return see_other(area.home)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, reason: str = "") -> Response:
        return login_page(request, message=message_for(reason) if reason in SIGN_IN_REASONS else None)

    @router.post("/login", response_class=HTMLResponse)
    def login(
        request: Request, token: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = ""
    ) -> Response:
        container = container_of(request)
        token = token.strip()
        if not login_csrf_matches(request, area, csrf):
            return login_page(request, message=message_for("csrf_failed"), token=token, status_code=403)
        try:
            claims = verify_token(container.token_key, token, now=container.clock())
        except TokenError as exc:
            return login_page(request, message=message_for(exc.code), token=token, status_code=401)
        if claims.role is not area.role:
            return login_page(request, message=message_for(area.wrong_role), token=token, status_code=403)
        response = see_other(area.home)
        max_age = int((claims.expires_at - container.clock()).total_seconds())
        set_session_cookie(response, container, area, token, max_age)
        return response

    acting_here = Depends(acting(area))  # not in the annotation: those are read as strings, later

    @router.post("/logout")
    def logout(request: Request, _me: WebSession = acting_here) -> Response:
        response = see_other(f"{area.path}/login?reason=signed_out")
        clear_session_cookie(response, container_of(request), area)
        return response
