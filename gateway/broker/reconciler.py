"""The stuck-order reconciler: orders waiting on an institution longer than a limit are asked about.

A call to an institution can fail or lose its answer (push mode over a network); the workflow then
leaves the order where it was (workflow.py). This job finds those orders and finishes them:

- `accepted` (the submission may never have arrived): submit again; the institution dedupes by
  application and answers with its current decision.
- `under_review` (the decision may have been lost): the status query; a decision is recorded.
- `paid` (issuance failed or its answer was lost): `Broker.issue` again; the institution returns the
  guarantee it already made, if any (push partners dedupe by application), or issues now.

Every step goes through the broker's own functions (record_decision, Broker.issue), outside any
transaction while calling out. Runs from `gateway broker reconcile` and as a background job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import anyio.to_thread
from sqlalchemy import select

from contracts.enums import GuaranteeStatus as S
from contracts.institutions import Decision, DecisionOutcome, InstitutionUnavailable, StatusQuery
from gateway.broker import service
from gateway.broker.tables import Application
from gateway.broker.workflow import Broker
from gateway.composition import Container
from gateway.db import transaction
from gateway.errors import GatewayError

log = logging.getLogger("gateway.broker.reconciler")
WAITING = (S.ACCEPTED, S.UNDER_REVIEW, S.PAID)
DEFAULT_STUCK_AFTER = timedelta(minutes=5)
DEFAULT_INTERVAL_S = 60.0
BATCH = 200


@dataclass
class ReconcileReport:
    checked: int = 0
    decided: list[str] = field(default_factory=list)  # a decision recorded (approved or rejected)
    issued: list[str] = field(default_factory=list)  # paid -> issued (or refused and refunded)
    waiting: list[str] = field(default_factory=list)  # asked; the institution has not decided yet
    failed: dict[str, str] = field(default_factory=dict)  # could not ask (unreachable, refused)

    def summary(self) -> str:
        return (
            f"checked {self.checked}: {len(self.decided)} decided, {len(self.issued)} issuance(s) settled, "
            f"{len(self.waiting)} still waiting, {len(self.failed)} failed"
        )


def stuck_orders(
    container: Container, *, older_than: timedelta, limit: int = BATCH
) -> list[tuple[str, str, str]]:
    """(id, status, institution) of orders in a waiting state not moved for `older_than`, oldest first."""
    cutoff = container.clock() - older_than
    with container.sessions() as session:
        rows = session.execute(
            select(Application.id, Application.status, Application.institution_code)
            .where(Application.status.in_([status.value for status in WAITING]))
            .where(Application.updated_at <= cutoff)
            .order_by(Application.updated_at)
            .limit(limit)
        )
        return [(app_id, status, code or "") for app_id, status, code in rows]


def reconcile(
    container: Container,
    *,
    older_than: timedelta = DEFAULT_STUCK_AFTER,
    limit: int = BATCH,
    broker: Broker | None = None,
) -> ReconcileReport:
    broker = broker or Broker.from_container(container)
    report = ReconcileReport()
    for application_id, status, institution_code in stuck_orders(
        container, older_than=older_than, limit=limit
    ):
        report.checked += 1
        adapter = container.institutions.get(institution_code)
        if adapter is None:
            report.failed[application_id] = f"no adapter for institution {institution_code!r}"
            continue
        try:
            if status == S.PAID.value:
                broker.issue(application_id)
                _settled(container, application_id, report)
                continue
            if status == S.ACCEPTED.value:
                with container.sessions() as session:
                    app = session.get(Application, application_id)
                    assert app is not None
                    submission = service.submission_for(session, app)
                decision = adapter.submit(submission)
            else:
                decision = adapter.status(
                    StatusQuery(application_id=application_id, institution_code=institution_code)
                )
            _record(container, decision, report)
        except InstitutionUnavailable as exc:
            report.failed[application_id] = str(exc)
        except GatewayError as exc:  # the order moved meanwhile (a callback, the bidder): nothing to do
            report.failed[application_id] = f"{exc.code}: {exc.detail}"
    if report.checked:
        log.info("reconciled stuck orders", extra={"summary": report.summary()})
    return report


def _record(container: Container, decision: Decision, report: ReconcileReport) -> None:
    with transaction(container.sessions) as session:
        service.record_decision(
            session, decision, actor=f"institution:{decision.institution_code}", now=container.clock()
        )
    if decision.outcome is DecisionOutcome.PENDING:
        report.waiting.append(decision.application_id)
    else:
        report.decided.append(decision.application_id)


def _settled(container: Container, application_id: str, report: ReconcileReport) -> None:
    with container.sessions() as session:
        status = session.scalar(select(Application.status).where(Application.id == application_id))
    if status == S.PAID.value:
        report.failed[application_id] = "issuance still failing"
    else:
        report.issued.append(application_id)


async def run_reconciler(
    container: Container,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    older_than: timedelta = DEFAULT_STUCK_AFTER,
) -> None:
    """The background job (gateway/app.py): reconcile every `interval_s` until cancelled."""
    from gateway.composition import load_push_institutions

    def once() -> None:
        load_push_institutions(container)  # institutions registered since the last run
        reconcile(container, older_than=older_than)

    while True:
        try:
            await anyio.to_thread.run_sync(once)
        except Exception:
            log.exception("reconciler run failed; will retry")
        await asyncio.sleep(interval_s)


__all__: Sequence[str] = ["ReconcileReport", "reconcile", "run_reconciler", "stuck_orders"]
