"""OpenAPI descriptions of the problem+json responses every endpoint can return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details with the gateway's stable `code`."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[FieldError] | None = None


def _problem(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Malformed request (bad JSON, bad Idempotency-Key)"),
    401: _problem("Missing, invalid or expired credentials"),
    403: _problem("The caller may not do this"),
    404: _problem("No such resource (or not the caller's)"),
    409: _problem("Conflicts with the current state, or the same Idempotency-Key is in flight"),
    413: _problem("Request body too large"),
    422: _problem("Invalid fields, or an Idempotency-Key reused with a different body"),
    503: _problem("A dependency (the database) is unavailable"),
}
