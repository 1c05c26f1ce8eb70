"""RFC 9457 problem+json for every error the HTTP layer returns.

Every problem carries `type`, `title`, `status`, `detail`, a stable `code` and the `request_id`;
validation problems add `errors: [{field, message, type}]`. Nothing internal (exception text of an
unexpected error, a traceback, SQL) ever reaches a response.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gateway.context import request_id_var
from gateway.errors import GatewayError

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = logging.getLogger("gateway.http")

_STATUS_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("body_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_error", "Request is not valid"),
    429: ("rate_limited", "Too many requests"),
    500: ("internal_error", "Internal error"),
    503: ("unavailable", "Service unavailable"),
}


def problem_body(
    status: int, code: str, title: str, detail: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Extras add members; the standard ones always win, so an extra can never disguise a problem."""
    return {
        **(extra or {}),
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    content = json.dumps(problem_body(status, code, title, detail, extra), ensure_ascii=False)
    return Response(content, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def problem_bytes(status: int, code: str, title: str, detail: str) -> bytes:
    """For ASGI middleware that answers before FastAPI is reached."""
    return json.dumps(problem_body(status, code, title, detail), ensure_ascii=False).encode()


def _field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]


async def _on_gateway_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return problem_response(exc.status, exc.code, exc.title, exc.detail, extra=exc.extra)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(
            400,
            "malformed_json",
            "Malformed JSON",
            "The request body is not valid JSON",
            extra={"errors": _field_errors(errors)},
        )
    fields = ", ".join(item["field"] for item in _field_errors(errors))
    return problem_response(
        422,
        "validation_error",
        "Request is not valid",
        f"Invalid fields: {fields}",
        extra={"errors": _field_errors(errors)},
    )


async def _on_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _STATUS_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such resource"
    return problem_response(exc.status_code, code, title, detail, headers=dict(exc.headers or {}))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _on_gateway_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
