"""A probe router mounted on the real app, to exercise the HTTP conventions (the foundation has no
business endpoints of its own yet)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from gateway.app import create_app
from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.auth.tokens import Role, issue_token
from gateway.composition import Container
from gateway.errors import Conflict


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    section_code: str = Field(min_length=1)
    amount_fen: int = Field(gt=0)


class ProbeState:
    def __init__(self) -> None:
        self.executions = 0
        self.lock = threading.Lock()
        self.delay_s = 0.0
        self.fail_with_500 = False


@pytest.fixture
def probe() -> ProbeState:
    return ProbeState()


def probe_router(state: ProbeState) -> APIRouter:
    router = APIRouter(prefix="/probe", tags=["probe"])

    @router.post("/orders", status_code=201)
    def create_order(order: Order, caller: Caller = Depends(require_role("bidder"))) -> dict[str, object]:
        time.sleep(state.delay_s)
        if state.fail_with_500:
            raise RuntimeError("boom: internal detail that must not leak")
        with state.lock:
            state.executions += 1
            number = state.executions
        return {"number": number, "caller": caller.subject, "amount_fen": order.amount_fen}

    @router.post("/conflicts")
    def conflict() -> None:
        raise Conflict("That order was already paid", order_id="o-1")

    @router.post("/reserved-extras")
    def reserved_extras() -> None:
        raise Conflict("Order is paid", status="paid", code="paid", title="shadow")

    @router.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret-internal-detail")

    return router


@pytest.fixture
def probe_client(container: Container, probe: ProbeState) -> Iterator[TestClient]:
    app = create_app(container)
    app.include_router(probe_router(probe))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def bidder_token(container: Container) -> str:
    return issue_token(
        container.token_key, Role.BIDDER, "91440300MA5DEMO01X", now=datetime.now(UTC), ttl=timedelta(hours=1)
    )


@pytest.fixture
def other_bidder_token(container: Container) -> str:
    return issue_token(
        container.token_key, Role.BIDDER, "91440300MA5DEMO02Y", now=datetime.now(UTC), ttl=timedelta(hours=1)
    )
