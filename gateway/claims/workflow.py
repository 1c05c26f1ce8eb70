"""Claims end to end: short transactions (`service`) with the call to the institution between them.

    file:    tx(check, claim row, CLAIM transition, event) -> forward
    forward: tx(lease due claims) -> institution.claim -> tx(record ack | schedule the retry)
    decide:  tx(PAY_CLAIM | REFUSE_CLAIM, event)

An institution that is down never loses a claim: the claim is committed before the call, and an
unacknowledged one is retried (capped exponential backoff with full jitter, without end: a claim
must reach its institution) by the server's background loop (`run_worker`) or `gateway claims
forward`. Institutions dedupe by claim id: delivery is at least once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from contracts.institutions import Claim as ClaimMessage
from contracts.institutions import ClaimPort, InstitutionUnavailable
from gateway.calendars.business_days import BusinessCalendar
from gateway.claims import service
from gateway.claims.rules import Outcome
from gateway.composition import Container
from gateway.db import transaction
from gateway.outbox.retry import RetryPolicy

log = logging.getLogger("gateway.claims")
# Backoff between attempts: up to 30 s after the first failure, doubling, at most an hour.
FORWARD_RETRY: Final = RetryPolicy(base_s=30.0, cap_s=3600.0, horizon_s=3600.0)
# Longer than any institution call (their adapters time out well before): a lease outliving a crashed
# worker just delays the retry by this much.
FORWARD_LEASE: Final = timedelta(minutes=2)
WORKER_POLL_S: Final = 15.0


@functools.lru_cache(maxsize=1)
def default_calendar() -> BusinessCalendar:
    """The shipped State Council calendar, parsed once per process."""
    return BusinessCalendar.load()


@dataclass(frozen=True)
class ForwardResult:
    forwarded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class Claims:
    sessions: sessionmaker[Session]
    institutions: Mapping[str, ClaimPort]
    clock: Callable[[], datetime]
    calendar: BusinessCalendar
    decision_days: int = 5
    uniform: Callable[[], float] = random.random  # the jitter's draw (a test may fix it)

    @classmethod
    def from_container(cls, container: Container, calendar: BusinessCalendar | None = None) -> Claims:
        return cls(
            sessions=container.sessions,
            institutions=container.institutions,
            clock=container.clock,
            calendar=calendar or default_calendar(),
            decision_days=container.settings.claim_decision_business_days,
        )

    def file(self, *, center_code: str, guarantee_no: str, amount_fen: int, reason: str) -> str:
        """File the claim (committed), then forward it once; a failed forward is retried later."""
        with transaction(self.sessions) as session:
            claim = service.file_claim(
                session, center_code=center_code, guarantee_no=guarantee_no, amount_fen=amount_fen,
                reason=reason, now=self.clock(), calendar=self.calendar, decision_days=self.decision_days,
            )  # fmt: skip
            claim_id = claim.id
        self.forward_due(claim_id=claim_id)
        return claim_id

    def forward_due(self, *, limit: int = 100, claim_id: str | None = None) -> ForwardResult:
        """Send every due, unacknowledged claim (or only `claim_id`) to its institution."""
        now = self.clock()
        with transaction(self.sessions) as session:
            leased = service.lease_forwards(
                session, now=now, until=now + FORWARD_LEASE, limit=limit, claim_id=claim_id
            )
        result = ForwardResult()
        for message, attempts in leased:
            error = self._send(message)
            with transaction(self.sessions) as session:
                if error is None:
                    result.forwarded.append(message.claim_id)
                else:
                    result.failed[message.claim_id] = error
                    failed_at = self.clock()
                    retry_at = failed_at + timedelta(seconds=FORWARD_RETRY.delay_s(attempts, self.uniform()))
                    service.record_forward_failure(
                        session, message.claim_id, error, retry_at=retry_at, now=failed_at
                    )
        return result

    def _send(self, message: ClaimMessage) -> str | None:
        """Deliver one claim; None when acknowledged, else why not (recorded with the retry)."""
        code = message.institution_code
        adapter = self.institutions.get(code)
        if adapter is None:
            error = f"no adapter reaches institution {code}"
            log.warning("claim not forwarded", extra={"claim_id": message.claim_id, "error": error})
            return error
        try:
            ack = adapter.claim(message)
        except InstitutionUnavailable as exc:
            log.warning("claim not forwarded", extra={"claim_id": message.claim_id, "error": str(exc)})
            return str(exc) or type(exc).__name__
        except Exception as exc:  # an adapter's bug must not stop the other claims
            log.exception("claim forwarding failed", extra={"claim_id": message.claim_id})
            return f"unexpected {type(exc).__name__}"
        if ack.claim_id != message.claim_id:
            return f"{code} acknowledged {ack.claim_id}, not {message.claim_id}"
        with transaction(self.sessions) as session:
            service.record_forwarded(session, ack, institution_code=code, now=self.clock())
        return None

    def decide(self, *, claim_id: str, institution_code: str, outcome: Outcome, reason: str | None) -> None:
        with transaction(self.sessions) as session:
            service.decide(
                session, claim_id=claim_id, institution_code=institution_code, outcome=outcome,
                reason=reason, now=self.clock(), actor=f"institution:{institution_code}",
            )  # fmt: skip

    def fill_deadlines(self) -> list[str]:
        with transaction(self.sessions) as session:
            return list(service.fill_missing_deadlines(session, self.calendar))


async def run_worker(container: Container, *, poll_s: float = WORKER_POLL_S) -> None:
    """Background job for `create_app(..., background_jobs=True)`: retry unacknowledged claims and fill
    deadlines the calendar could not give when the claim was filed."""
    claims: Claims | None = None
    while True:
        try:
            claims = claims or Claims.from_container(container)  # in the loop: a bad calendar file is logged
            result = await anyio.to_thread.run_sync(claims.forward_due)
            filled = await anyio.to_thread.run_sync(claims.fill_deadlines)
            if result.forwarded or result.failed or filled:
                log.info(
                    "claims forwarded",
                    extra={"forwarded": len(result.forwarded), "failed": len(result.failed),
                           "deadlines_filled": len(filled)},
                )  # fmt: skip
        except Exception:
            log.exception("claim forwarding round failed; will retry")
        await asyncio.sleep(poll_s)
