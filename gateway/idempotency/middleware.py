"""`Idempotency-Key` for every state-changing request, as ASGI middleware placed inside authentication.

Keys are scoped per caller (an anonymous caller by client address). A response with status >= 500, or
an exception, releases the key so the client's retry can run; anything else (2xx, 4xx) is stored and
replayed with `Idempotent-Replayed: true`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth.caller import caller_of
from gateway.http.middleware import read_body, send_problem
from gateway.idempotency import service
from gateway.idempotency.service import IdempotencyPolicy, Outcome, StoredResponse
from signing.sm3 import sm3_hex

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NOT_STORED = frozenset({"request-id", "date", "server"})


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        policy: IdempotencyPolicy,
        required_prefixes: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.clock = clock
        self.policy = policy
        self.required_prefixes = tuple(required_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        key = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"idempotency-key"), None
        )
        if key is None:
            if scope["method"] == "POST" and scope["path"].startswith(self.required_prefixes):
                await send_problem(
                    send,
                    400,
                    "idempotency_key_required",
                    "Idempotency-Key required",
                    "This API requires an Idempotency-Key header on every POST",
                )
                return
            await self.app(scope, receive, send)
            return
        if not _KEY.match(key):
            await send_problem(
                send,
                400,
                "invalid_idempotency_key",
                "Invalid Idempotency-Key",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
            return
        await self._run_once(scope, receive, send, key)

    async def _run_once(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        body = await read_body(receive)
        caller = caller_of(scope)
        client = scope.get("client") or ("unknown", 0)
        caller_key = caller.key if caller else f"anonymous:{client[0]}"
        target = scope["path"] + (
            "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
        )
        request_hash = sm3_hex(b"%s\n%s\n" % (scope["method"].encode(), target.encode()) + body)
        claim = await anyio.to_thread.run_sync(
            lambda: service.claim(
                self.sessions,
                caller=caller_key,
                key=key,
                method=scope["method"],
                path=target,
                request_hash=request_hash,
                now=self.clock(),
                policy=self.policy,
            )
        )
        if claim.outcome is Outcome.MISMATCH:
            await send_problem(
                send,
                422,
                "idempotency_key_reused",
                "Idempotency-Key reused",
                "This Idempotency-Key was used for a different request",
            )
            return
        if claim.outcome is Outcome.IN_FLIGHT:
            await send_problem(
                send,
                409,
                "idempotency_request_in_flight",
                "Request in progress",
                "A request with this Idempotency-Key is still being processed; retry later",
                [(b"retry-after", b"1")],
            )
            return
        if claim.outcome is Outcome.REPLAY:
            assert claim.response is not None
            await _replay(send, claim.response)
            return
        assert claim.record_id is not None
        await self._execute(scope, body, send, claim.record_id)

    async def _execute(self, scope: Scope, body: bytes, send: Send, record_id: int) -> None:
        captured: dict[str, object] = {"status": 500, "headers": [], "chunks": []}

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() not in _NOT_STORED
                ]
            elif message["type"] == "http.response.body":
                chunks = captured["chunks"]
                assert isinstance(chunks, list)
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capturing_send)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: service.release(self.sessions, record_id))
            raise
        status = captured["status"]
        assert isinstance(status, int)
        if status >= 500:
            await anyio.to_thread.run_sync(lambda: service.release(self.sessions, record_id))
            return
        headers = captured["headers"]
        chunks = captured["chunks"]
        assert isinstance(headers, list)
        assert isinstance(chunks, list)
        stored = StoredResponse(status=status, headers=headers, body=b"".join(chunks))
        await anyio.to_thread.run_sync(lambda: service.complete(self.sessions, record_id, stored))


async def _replay(send: Send, response: StoredResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
