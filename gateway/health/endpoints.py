"""Liveness with a database check, and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from gateway.db import ping
from gateway.http.problems import problem_response
from gateway.http.schemas import PROBLEM_RESPONSES

router = APIRouter(tags=["health"])
log = logging.getLogger("gateway.health")


class Health(BaseModel):
    status: str
    database: str


@router.get(
    "/healthz",
    response_model=Health,
    summary="Liveness and database reachability",
    responses={503: PROBLEM_RESPONSES[503]},
)
def healthz(request: Request) -> Response:
    try:
        ping(request.app.state.container.engine)
    except SQLAlchemyError as exc:
        log.warning("database unreachable", extra={"error": type(exc).__name__})
        return problem_response(
            503, "database_unavailable", "Service unavailable", "The database is not reachable"
        )
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
