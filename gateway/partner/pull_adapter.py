"""The gateway side of an institution in pull mode: an InstitutionAdapter backed by the database.

The broker calls it like any institution; instead of calling out, it leaves the request where the
institution's own client finds it (`GET /partner/v1/applications`) and, for a quote, waits with
short polls for the institution's answer until just before the fan-out deadline. Submissions,
issue requests and notices are recorded and answered "pending": the institution's decision and
issuance arrive later through the partner API, which drives the broker from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from contracts.enums import DecisionMode
from contracts.institutions import (
    ApplicationSubmission,
    Claim,
    ClaimAck,
    Decision,
    DecisionOutcome,
    Extension,
    ExtensionResult,
    InstitutionUnavailable,
    IssuedGuarantee,
    IssueRequest,
    Quote,
    QuoteRequest,
    StatusQuery,
    Surrender,
    SurrenderAck,
)
from gateway.broker.tables import Application
from gateway.db import transaction
from gateway.partner import repository
from gateway.partner.tables import PartnerRoute

# Answer the fan-out this much before its deadline, so that a quote that arrived in time is used.
DEADLINE_MARGIN_S = 0.4
POLL_S = 0.05
APPROVED_STATES = frozenset({"awaiting_payment", "paid", "issued", "locked", "released", "claimed",
                             "claim_paid", "claim_refused", "surrendered", "expired"})  # fmt: skip


@dataclass
class PullAdapter:
    code: str
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    deadline_s: float = 3.0
    poll_s: float = POLL_S

    # ------------------------------------------------------------------ quote

    def quote(self, request: QuoteRequest) -> Quote:
        if request.institution_code != self.code:
            raise InstitutionUnavailable(f"{self.code}: request for {request.institution_code}")
        give_up = time.monotonic() + max(self.deadline_s - DEADLINE_MARGIN_S, self.poll_s)
        with transaction(self.sessions) as session:
            route_id = repository.open_route(session, request, now=self.clock()).id
        while True:
            answer = self._answer(route_id)
            if answer is not None:
                return answer
            if time.monotonic() >= give_up:
                break
            time.sleep(self.poll_s)
        with transaction(self.sessions) as session:
            lapsed = repository.lapse_quote(session, route_id, now=self.clock())
        answer = None if lapsed else self._answer(route_id)
        if answer is None:
            raise InstitutionUnavailable(f"{self.code}: no quote within {self.deadline_s:g} s")
        return answer

    def _answer(self, route_id: int) -> Quote | None:
        with self.sessions() as session:
            row = session.get(PartnerRoute, route_id)
            assert row is not None
            if row.quote_status != "answered":
                return None
            return quote_of(row)

    # ------------------------------------------------------------------ review and issue

    def submit(self, submission: ApplicationSubmission) -> Decision:
        with transaction(self.sessions) as session:
            row = repository.open_route(session, submission.quote, now=self.clock())
            if row.submission is None:
                row.submission, row.updated_at = submission.model_dump_json(), self.clock()
        return Decision(
            application_id=submission.application_id,
            institution_code=self.code,
            outcome=DecisionOutcome.PENDING,
            reason="awaiting the institution's decision (partner API)",
        )

    def status(self, query: StatusQuery) -> Decision:
        with self.sessions() as session:
            app = session.get(Application, query.application_id)
            status = app.status if app is not None and app.institution_code == self.code else None
        if status in APPROVED_STATES:
            outcome = DecisionOutcome.APPROVED
        elif status == "rejected":
            outcome = DecisionOutcome.REJECTED
        else:
            outcome = DecisionOutcome.PENDING
        return Decision(application_id=query.application_id, institution_code=self.code, outcome=outcome)

    def issue(self, request: IssueRequest) -> IssuedGuarantee:
        with transaction(self.sessions) as session:
            row = repository.open_route(session, request.quote, now=self.clock())
            # The first request stands: its verification code may already be printed on a letter.
            if row.issue_request is None:
                row.issue_request, row.updated_at = request.model_dump_json(), self.clock()
        raise InstitutionUnavailable(f"{self.code}: awaiting issuance through the partner API")

    # ------------------------------------------------------------------ notices

    def surrender(self, request: Surrender) -> SurrenderAck:
        self._notice(
            "surrender", str(request.guarantee_no), str(request.guarantee_no), request.model_dump_json()
        )
        return SurrenderAck(guarantee_no=request.guarantee_no, accepted=True, reason="notice queued")

    def claim(self, request: Claim) -> ClaimAck:
        self._notice("claim", request.claim_id, str(request.guarantee_no), request.model_dump_json())
        return ClaimAck(claim_id=request.claim_id, received_at=self.clock())

    def extend(self, request: Extension) -> ExtensionResult:
        ref = f"{request.guarantee_no}:{request.new_cover_end.isoformat()}"
        self._notice("extension", ref, str(request.guarantee_no), request.model_dump_json())
        # The institution answers through POST /partner/v1/guarantees/{no}/extension; until then the
        # outcome is unknown, which for the caller is the same as an institution not answering yet.
        raise InstitutionUnavailable(f"{self.code}: awaiting the institution's extension decision")

    def _notice(self, kind: str, ref: str, guarantee_no: str, payload: str) -> None:
        with transaction(self.sessions) as session:
            repository.add_notice(
                session, code=self.code, kind=kind, ref=ref, guarantee_no=guarantee_no, payload=payload,
                now=self.clock(),
            )  # fmt: skip


def quote_of(row: PartnerRoute) -> Quote:
    assert row.quote_decision is not None
    return Quote.model_validate(
        {
            "application_id": row.application_id,
            "institution_code": row.institution_code,
            "premium_fen": row.quote_premium_fen,
            "decision": DecisionMode(row.quote_decision),
            "valid_until": row.quote_valid_until,
            "declined_reason": row.quote_declined_reason,
        }
    )
