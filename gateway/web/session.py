"""Sign-in sessions for the pages: the bearer token itself, kept in an HttpOnly, SameSite=Strict cookie.

Two areas share this: the bidder portal (/portal, role bidder) and the finance console (/console, role
finance, subject = the center). Each has its own cookie scoped to its path, so a bidder's cookie never
reaches the console and the other way round.

No server-side session store: the token is already signed and carries its expiry, so any gateway
process can check it (architecture.md: nothing in process memory). The CSRF token is derived from it
with the token key (HMAC-SM3), so it is per session, stable across pages, and needs no storage either.
The sign-in form itself has no session yet: it uses a double-submit cookie (random value in a cookie
and in the form; a cross-site page can read neither).
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Form, Request, Response

from gateway.auth.caller import Caller
from gateway.auth.tokens import Role, TokenError, verify_token
from gateway.composition import Container, container_of
from signing.sm3 import hmac_sm3


@dataclass(frozen=True)
class Area:
    """A signed-in part of the site: who may use it and where its pages live."""

    name: str  # "portal" | "console": the URL prefix, the cookie names, the template folder
    title: str  # shown after every page title and as the brand
    role: Role
    home: str  # the first page after sign-in
    wrong_role: str  # the message code when a token of another role signs in here
    token_help: str  # where this area's people get a token (the sign-in page says it)

    @property
    def path(self) -> str:
        return f"/{self.name}"

    @property
    def cookie(self) -> str:
        return f"gw_{self.name}"

    @property
    def login_cookie(self) -> str:
        return f"gw_{self.name}_login"


PORTAL = Area(
    name="portal",
    title="投标人服务",
    role=Role.BIDDER,
    home="/portal/sections",
    wrong_role="wrong_role",
    token_help="演示环境：见数据目录中 credentials.json 的 bidders[].token。",  # noqa: S106 (a hint)
)
CONSOLE = Area(
    name="console",
    title="财务管理",
    role=Role.FINANCE,
    home="/console/deposits",
    wrong_role="wrong_role_finance",
    token_help="演示环境：见数据目录中 credentials.json 的 finance.token。",  # noqa: S106 (a hint)
)


@dataclass(frozen=True)
class WebSession:
    area: Area
    token: str
    subject: str  # a bidder's USCC, or finance's center code
    name: str | None
    expires_at: datetime
    csrf: str

    @property
    def caller(self) -> Caller:
        """The same identity the API would see for this token (for calls into the API's code)."""
        return Caller(kind=self.area.role.value, subject=self.subject, name=self.name)


class SignInRequired(Exception):
    """The page redirects to the area's sign-in with `reason` (a message code), cookie dropped."""

    def __init__(self, area: Area, reason: str | None) -> None:
        super().__init__(reason or "sign in")
        self.area = area
        self.reason = reason


class CsrfRefused(Exception):
    """A form post without this session's CSRF token: an error page, nothing done."""

    def __init__(self, me: WebSession) -> None:
        super().__init__("csrf_failed")
        self.me = me


def csrf_for(key: bytes, area: Area, token: str) -> str:
    mac = hmac_sm3(key, f"{area.name}-csrf\n".encode() + token.encode())
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def current_session(request: Request, container: Container, area: Area) -> WebSession:
    token = request.cookies.get(area.cookie)
    if not token:
        raise SignInRequired(area, None)
    try:
        claims = verify_token(container.token_key, token, now=container.clock())
    except TokenError as exc:
        raise SignInRequired(area, exc.code) from exc
    if claims.role is not area.role:
        raise SignInRequired(area, area.wrong_role)
    return WebSession(
        area=area,
        token=token,
        subject=claims.subject,
        name=claims.name,
        expires_at=claims.expires_at,
        csrf=csrf_for(container.token_key, area, token),
    )


def csrf_matches(me: WebSession, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(me.csrf.encode(), submitted.encode())


def signed_in(area: Area) -> Callable[[Request], WebSession]:
    """A dependency: the area's session, or a redirect to its sign-in (SignInRequired)."""

    def dependency(request: Request) -> WebSession:
        return current_session(request, container_of(request), area)

    return dependency


def acting(area: Area) -> Callable[..., WebSession]:
    """A dependency for form posts: the session, and the form's CSRF token must be this session's."""

    session_of = Depends(signed_in(area))  # not in the annotation: those are read as strings, later

    def dependency(me: WebSession = session_of, csrf: Annotated[str, Form()] = "") -> WebSession:
        if not csrf_matches(me, csrf):
            raise CsrfRefused(me)
        return me

    return dependency


def _secure(container: Container) -> bool:
    return container.settings.base_url.startswith("https://")


def set_session_cookie(
    response: Response, container: Container, area: Area, token: str, max_age: int
) -> None:
    response.set_cookie(
        area.cookie, token, max_age=max(max_age, 0), path=area.path, httponly=True, samesite="strict",
        secure=_secure(container),
    )  # fmt: skip


def clear_session_cookie(response: Response, container: Container, area: Area) -> None:
    response.delete_cookie(
        area.cookie, path=area.path, httponly=True, samesite="strict", secure=_secure(container)
    )


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def set_login_csrf_cookie(response: Response, container: Container, area: Area, value: str) -> None:
    response.set_cookie(
        area.login_cookie, value, max_age=3600, path=area.path, httponly=True, samesite="strict",
        secure=_secure(container),
    )  # fmt: skip


def login_csrf_matches(request: Request, area: Area, submitted: str | None) -> bool:
    cookie = request.cookies.get(area.login_cookie)
    if not cookie or submitted is None:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())
