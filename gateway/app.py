"""The HTTP application: conventions first (problems, request ids, logs, metrics, limits, auth,
idempotency), then each domain's router."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute

from gateway.auth.middleware import AuthenticationMiddleware
from gateway.broker import reconciler
from gateway.broker.endpoints import router as broker_router
from gateway.broker.workflow import Broker
from gateway.centers.endpoints import router as center_router
from gateway.centers.extension_endpoints import router as extension_router
from gateway.claims import workflow as claims_workflow
from gateway.claims.endpoints import router as claims_router
from gateway.composition import Container
from gateway.deposits.endpoints import bank_router as deposit_bank_router
from gateway.deposits.endpoints import bidder_router as deposit_bidder_router
from gateway.deposits.finance_endpoints import router as finance_deposits_router
from gateway.health.endpoints import router as health_router
from gateway.http.metrics import HttpMetrics
from gateway.http.middleware import BodyLimitMiddleware, RequestContextMiddleware
from gateway.http.problems import install_problem_handlers
from gateway.http.schemas import PROBLEM_RESPONSES
from gateway.idempotency import service as idempotency
from gateway.idempotency.middleware import IdempotencyMiddleware
from gateway.idempotency.service import IdempotencyPolicy
from gateway.outbox import worker as outbox_worker
from gateway.outbox.endpoints import router as events_router
from gateway.partner.endpoints import router as partner_router
from gateway.reconciliation.endpoints import router as reconciliation_router
from gateway.sections.endpoints import router as sections_router
from gateway.system_auth import service as system_auth
from gateway.verify.endpoints import router as verify_router
from gateway.web import install as install_web

log = logging.getLogger("gateway")
API_VERSION = "0.1.0"
# Systems must send Idempotency-Key on every POST; people's browsers may (the portal does).
SYSTEM_API_PREFIXES = ("/partner/", "/center/", "/bank/")
# The bidder API requires it too: a retried "pay" must never pay twice.
REQUIRED_IDEMPOTENCY_PREFIXES = (*SYSTEM_API_PREFIXES, "/v1/")
PURGE_INTERVAL_S = 600
BROKER_SWEEP_INTERVAL_S = 60


def operation_id(route: APIRoute) -> str:
    """Stable, readable operation ids: `<tag>_<function name>`."""
    return f"{route.tags[0]}_{route.name}" if route.tags else route.name


def create_app(container: Container, *, background_jobs: bool = False) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        jobs = (
            (
                _purge_expired(container),
                outbox_worker.run_worker(container),
                _broker_sweep(container),
                claims_workflow.run_worker(container),
                reconciler.run_reconciler(container),
            )
            if background_jobs
            else ()
        )
        tasks = [asyncio.create_task(job) for job in jobs]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()

    app = FastAPI(
        title="Electronic-guarantee gateway",
        version=API_VERSION,
        description=(
            "Bid guarantees (电子保函) between bidders, institutions, trading centers and center finance."
        ),
        generate_unique_id_function=operation_id,
        responses={code: PROBLEM_RESPONSES[code] for code in (400, 413, 422)},
        lifespan=lifespan,
    )
    app.state.container = container
    app.state.metrics = HttpMetrics()
    install_problem_handlers(app)
    policy = IdempotencyPolicy(ttl=timedelta(seconds=container.settings.idempotency_ttl_s))
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(
        IdempotencyMiddleware,
        sessions=container.sessions,
        clock=container.clock,
        policy=policy,
        required_prefixes=REQUIRED_IDEMPOTENCY_PREFIXES,
    )
    app.add_middleware(
        AuthenticationMiddleware,
        token_key=container.token_key,
        clock=container.clock,
        sessions=container.sessions,
        signer=container.signer,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    app.include_router(health_router)
    app.include_router(sections_router)
    app.include_router(broker_router)
    app.include_router(events_router)
    app.include_router(center_router)
    app.include_router(extension_router)
    app.include_router(claims_router)
    app.include_router(verify_router)
    app.include_router(partner_router)
    app.include_router(deposit_bidder_router)
    app.include_router(deposit_bank_router)
    app.include_router(finance_deposits_router)
    install_web(app)
    app.include_router(reconciliation_router)
    return app


async def _purge_expired(container: Container) -> None:
    """The cleanup job: idempotency keys expire after their TTL (24 h by default), remembered nonces
    after twice the signature window."""
    while True:
        try:
            keys = await anyio.to_thread.run_sync(
                lambda: idempotency.purge_expired(container.sessions, container.clock())
            )
            nonces = await anyio.to_thread.run_sync(
                lambda: system_auth.purge_nonces(container.sessions, container.clock())
            )
            if keys or nonces:
                log.info("purged expired rows", extra={"idempotency_keys": keys, "nonces": nonces})
        except Exception:
            log.exception("purge of expired rows failed; will retry")
        await asyncio.sleep(PURGE_INTERVAL_S)


async def _broker_sweep(container: Container) -> None:
    """The broker's periodic jobs: recover payments left pending by a crash, expire lapsed offers."""
    while True:
        try:
            broker = Broker.from_container(container)
            expired, recovery = await anyio.to_thread.run_sync(broker.sweep)
            if expired or recovery.completed or recovery.failed or recovery.refunded:
                counts = {
                    "expired": len(expired),
                    "payments_completed": len(recovery.completed),
                    "payments_failed": len(recovery.failed),
                    "payments_refunded": len(recovery.refunded),
                }
                log.info("broker sweep", extra=counts)
        except Exception:
            log.exception("broker sweep failed; will retry")
        await asyncio.sleep(BROKER_SWEEP_INTERVAL_S)
