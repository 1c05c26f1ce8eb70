"""The portal's sign-in session: the bearer token itself, kept in an HttpOnly, SameSite=Strict cookie.

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
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request, Response

from gateway.auth.tokens import Role, TokenError, verify_token
from gateway.composition import Container
from signing.sm3 import hmac_sm3

SESSION_COOKIE = "gw_portal"
LOGIN_CSRF_COOKIE = "gw_portal_login"
COOKIE_PATH = "/portal"


@dataclass(frozen=True)
class PortalSession:
    token: str
    uscc: str
    name: str | None
    expires_at: datetime
    csrf: str


class SignInRequired(Exception):
    """Raised by `current_session`: the page redirects to sign-in with `reason` (a message code)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "sign in")
        self.reason = reason


def csrf_for(key: bytes, token: str) -> str:
    mac = hmac_sm3(key, b"portal-csrf\n" + token.encode())
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def current_session(request: Request, container: Container) -> PortalSession:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired(None)
    try:
        claims = verify_token(container.token_key, token, now=container.clock())
    except TokenError as exc:
        raise SignInRequired(exc.code) from exc
    if claims.role is not Role.BIDDER:
        raise SignInRequired("wrong_role")
    return PortalSession(
        token=token,
        uscc=claims.subject,
        name=claims.name,
        expires_at=claims.expires_at,
        csrf=csrf_for(container.token_key, token),
    )


def csrf_matches(session: PortalSession, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(session.csrf.encode(), submitted.encode())


def _secure(container: Container) -> bool:
    return container.settings.base_url.startswith("https://")


def set_session_cookie(response: Response, container: Container, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max(max_age, 0), path=COOKIE_PATH, httponly=True,
        samesite="strict", secure=_secure(container),
    )  # fmt: skip


def clear_session_cookie(response: Response, container: Container) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_secure(container)
    )


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def set_login_csrf_cookie(response: Response, container: Container, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, value, max_age=3600, path=COOKIE_PATH, httponly=True, samesite="strict",
        secure=_secure(container),
    )  # fmt: skip


def login_csrf_matches(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or submitted is None:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())
