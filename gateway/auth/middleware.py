"""Authentication at the edge, for people and for systems.

- ``Authorization: Bearer gw1...``: a person (bidder, finance, admin); the token is checked locally.
- ``Authorization: GW-SM2-SM3 ...``: a system (institution, center, escrow bank); the SM2 signature over
  method, path, timestamp, nonce and body is checked against the registered key, the nonce is
  remembered in the database; the response to a system caller is signed with the gateway's key
  (``Gw-Key-Id``, ``Gw-Timestamp``, ``Gw-Nonce``, ``Gw-Signature``).

A request without credentials passes through as anonymous; endpoints that need a caller say so with
the dependencies in gateway.auth.dependencies. Authentication runs before idempotency so that a
replayed response is only ever given to the caller who made the first request. Every refusal is a
401 problem with a precise code, and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth.caller import Caller, set_caller
from gateway.auth.tokens import TokenError, verify_token
from gateway.http.middleware import read_body, send_problem
from gateway.system_auth.service import SignatureRefused, SignedRequest, authenticate
from signing.http_signature import SCHEME as SM2_SCHEME
from signing.http_signature import sign_response
from signing.sm2 import Sm2PrivateKey

log = logging.getLogger("gateway.auth")
WWW_AUTHENTICATE = [(b"www-authenticate", f'Bearer realm="gateway", {SM2_SCHEME} realm="gateway"'.encode())]


@dataclass(frozen=True)
class GatewaySigner:
    key_id: str
    key: Sm2PrivateKey = field(repr=False)


class AuthenticationMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        token_key: bytes,
        clock: Callable[[], datetime],
        sessions: sessionmaker[Session],
        signer: GatewaySigner,
    ) -> None:
        self.app = app
        self.token_key = token_key
        self.clock = clock
        self.sessions = sessions
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = None
        if scope["type"] == "http":
            authorization = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), None)
        if authorization is None:
            await self.app(scope, receive, send)
            return
        value = authorization.decode("latin-1")
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() == "bearer":
            await self._bearer(scope, receive, send, credentials.strip())
        elif scheme == SM2_SCHEME:
            await self._system(scope, receive, send, value)
        else:
            await self._refuse(
                send, "unsupported_auth_scheme", f"Authorization scheme {scheme!r} is not accepted"
            )

    async def _bearer(self, scope: Scope, receive: Receive, send: Send, token: str) -> None:
        try:
            claims = verify_token(self.token_key, token, now=self.clock())
        except TokenError as exc:
            await self._refuse(send, exc.code, str(exc))
            return
        set_caller(scope, Caller(kind=claims.role.value, subject=claims.subject, name=claims.name))
        await self.app(scope, receive, send)

    async def _system(self, scope: Scope, receive: Receive, send: Send, authorization: str) -> None:
        body = await read_body(receive)
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        request = SignedRequest(authorization, scope["method"], target, body)
        try:
            caller = await anyio.to_thread.run_sync(
                lambda: authenticate(self.sessions, request, self.clock())
            )
        except SignatureRefused as exc:
            log.warning(
                "signed request refused",
                extra={"code": exc.code, "path": scope["path"], "reason": exc.detail},
            )
            await self._refuse(send, exc.code, exc.detail)
            return
        set_caller(scope, caller)

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, _SigningSend(send, self.signer, target, self.clock))

    async def _refuse(self, send: Send, code: str, detail: str) -> None:
        await send_problem(send, 401, code, "Authentication required", detail, WWW_AUTHENTICATE)


class _SigningSend:
    """Buffers a response to a system caller and sends it with the gateway's signature headers."""

    def __init__(self, send: Send, signer: GatewaySigner, target: str, clock: Callable[[], datetime]) -> None:
        self.send = send
        self.signer = signer
        self.target = target
        self.clock = clock
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(self.chunks)
        signature = sign_response(
            self.signer.key,
            self.signer.key_id,
            str(self.start["status"]),
            self.target,
            body,
            timestamp=int(self.clock().timestamp()),
        )
        headers = list(self.start.get("headers", []))
        headers += [(name.lower().encode(), value.encode()) for name, value in signature.items()]
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})
