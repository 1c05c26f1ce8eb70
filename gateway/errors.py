"""The gateway's typed errors. Each has a stable machine `code` and an HTTP `status`; one handler
(gateway.http.problems) turns them into RFC 9457 problem+json. Declare domain errors next to the use
case that raises them, subclassing `GatewayError`."""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    code: ClassVar[str] = "bad_request"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(GatewayError):
    code = "not_found"
    status = 404
    title = "Not found"


class Unauthorized(GatewayError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class Forbidden(GatewayError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class Conflict(GatewayError):
    code = "conflict"
    status = 409
    title = "Conflict"
