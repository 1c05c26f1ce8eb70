"""Authentication at the edge: a valid bearer token sets the caller; a bad one is refused with 401.

A request without credentials passes through as anonymous; endpoints that need a caller say so with
the dependencies in gateway.auth.dependencies. Authentication runs before idempotency so that a
replayed response is only ever given to the caller who made the first request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.caller import Caller, set_caller
from gateway.auth.tokens import TokenError, verify_token
from gateway.http.middleware import send_problem

WWW_AUTHENTICATE = [(b"www-authenticate", b'Bearer realm="gateway"')]


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, token_key: bytes, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.token_key = token_key
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            authorization = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), None)
            if authorization is not None:
                scheme, _, credentials = authorization.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    await send_problem(
                        send,
                        401,
                        "unsupported_auth_scheme",
                        "Authentication required",
                        f"Authorization scheme {scheme!r} is not accepted here",
                        WWW_AUTHENTICATE,
                    )
                    return
                try:
                    claims = verify_token(self.token_key, credentials.strip(), now=self.clock())
                except TokenError as exc:
                    await send_problem(
                        send, 401, exc.code, "Authentication required", str(exc), WWW_AUTHENTICATE
                    )
                    return
                set_caller(scope, Caller(kind=claims.role.value, subject=claims.subject))
        await self.app(scope, receive, send)
