"""The reference partner server: a FastAPI app playing a bank on the institution side of push mode
(docs/partner-push.md), with its own SM2 key and certificate, and configurable faults (faults.py).

- Every request must carry the gateway's signature (Gw-* headers, METHOD first) within 300 s and an
  unseen nonce; every answer is signed with this bank's key (Gw-* headers, STATUS first).
- Every POST is idempotent by Idempotency-Key: a replay returns the first answer; the same key with
  another body is refused; one still running answers 409. ``GET /push/v1/requests/{key}`` tells the
  gateway what became of a POST whose answer it lost.
- Issuing is idempotent by application too: a retried issue (new key) returns the same guarantee
  (number, data and signature); only the letter is rendered anew when the gateway sends a new
  verification code, since the letter prints that code.
- Review mode: submissions answer "pending"; after ``review_delay_s`` the decision becomes
  "approved", the status query says so, and a signed callback goes to the gateway's
  ``POST /partner/v1/applications/{id}/decision``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from adapters.banks.http import protocol
from adapters.banks.sandbox.core import SandboxIdentity, load_or_create_identity
from adapters.partner_sandbox.faults import Faults
from adapters.partner_sandbox.state import ApplicationRecord, PartnerState, RequestRecord
from contracts.enums import DecisionMode
from contracts.institutions import (
    ApplicationSubmission,
    Claim,
    ClaimAck,
    Decision,
    DecisionOutcome,
    Extension,
    ExtensionResult,
    GuaranteeData,
    IssuedGuarantee,
    IssueRequest,
    Quote,
    QuoteRequest,
    Surrender,
    SurrenderAck,
)
from signing.http_signature import sign_request, sign_response, verify_response
from signing.letter import issue_letter, letter_for
from signing.signed_data import sign_canonical
from signing.sm2 import Sm2PublicKey
from signing.sm3 import sm3_hex

log = logging.getLogger("partner_sandbox")
SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNATURE_WINDOW_S = 300
QUOTE_VALIDITY = timedelta(minutes=30)
M = TypeVar("M", bound=BaseModel)


@dataclass
class PartnerConfig:
    state_dir: Path
    gateway_public_key: Sm2PublicKey = field(repr=False)
    code: str = "PUSH-BANK"
    name: str = "推送示范银行股份有限公司"
    decision: DecisionMode = DecisionMode.INSTANT
    review_delay_s: float = 1.0
    gateway_url: str | None = None  # where decision callbacks go; None: no callbacks
    render_letter: bool = True
    discount_fen: int = 0
    refuse_issue: bool = False
    number_prefix: str = "PB"
    faults: Faults = field(default_factory=Faults)


@dataclass
class _Partner:
    config: PartnerConfig
    identity: SandboxIdentity
    state: PartnerState = field(default_factory=PartnerState)
    issue_lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ business

    def quote(self, request: QuoteRequest) -> tuple[int, Any]:
        premium = max(request.schedule_premium_fen.fen - self.config.discount_fen, 1)
        quote = Quote.model_validate(
            {
                "application_id": request.application_id,
                "institution_code": self.config.code,
                "premium_fen": premium,
                "decision": self.config.decision,
                "valid_until": datetime.now(UTC) + QUOTE_VALIDITY,
            }
        )
        return 200, quote.model_dump(mode="json")

    def submit(self, submission: ApplicationSubmission) -> tuple[int, Any]:
        review = self.config.decision is DecisionMode.REVIEW
        with self.state.lock:
            record = self.state.applications.get(submission.application_id)
            if record is None:
                record = ApplicationRecord(
                    submission.application_id,
                    outcome="pending" if review else "approved",
                    reason="under manual review" if review else None,
                    decide_at=time.monotonic() + self.config.review_delay_s,
                )
                self.state.applications[submission.application_id] = record
        answer = Decision(
            application_id=submission.application_id,
            institution_code=self.config.code,
            outcome=DecisionOutcome(record.outcome),
            reason=record.reason,
        )
        if review and record.outcome == "pending":
            if self.config.faults.out_of_order_callbacks:
                # The decision overtakes the submission's own answer ("pending").
                self._decide(record)
                self._send_callbacks(record.application_id)
            else:
                threading.Thread(
                    target=self._callback_later, args=(record.application_id,), daemon=True
                ).start()
        return 200, answer.model_dump(mode="json")

    def _decide(self, record: ApplicationRecord) -> None:
        with self.state.lock:
            if record.outcome == "pending":
                record.outcome, record.reason = "approved", None

    def _callback_later(self, application_id: str) -> None:
        time.sleep(self.config.review_delay_s)
        record = self.state.applications[application_id]
        self._decide(record)
        self._send_callbacks(application_id)

    def _send_callbacks(self, application_id: str) -> None:
        if self.config.gateway_url is None:
            return
        record = self.state.applications[application_id]
        path = f"/partner/v1/applications/{application_id}/decision"
        body = json.dumps({"outcome": record.outcome, "reason": record.reason}).encode()
        first_key = f"cb-{application_id}-{record.outcome}"
        # Duplicates: the same key once (a plain retry), then fresh keys (a partner that forgot it sent).
        keys = [first_key] + [
            first_key if n == 0 else f"{first_key}-dup{n}"
            for n in range(self.config.faults.duplicate_callbacks)
        ]
        with httpx.Client(base_url=self.config.gateway_url.rstrip("/"), timeout=10.0) as client:
            for key in keys:
                status: int | str
                for _attempt in range(3):
                    headers = {
                        "Authorization": sign_request(
                            self.identity.sm2_key,
                            self.identity.key_id,
                            "POST",
                            path,
                            body,
                            timestamp=int(time.time()),
                        ),
                        "Idempotency-Key": key,
                        "Content-Type": "application/json",
                    }
                    try:
                        status = client.post(path, content=body, headers=headers).status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    if isinstance(status, int) and status < 500:
                        break
                    time.sleep(0.2)
                with self.state.lock:
                    self.state.callbacks.append(
                        {"application_id": application_id, "key": key, "status": status}
                    )

    def decision(self, application_id: str) -> tuple[int, Any]:
        with self.state.lock:
            record = self.state.applications.get(application_id)
        if record is None:
            return 404, {"code": "unknown_application", "detail": f"no submission for {application_id}"}
        if record.outcome == "pending" and time.monotonic() >= record.decide_at:
            self._decide(record)
        answer = Decision(
            application_id=application_id,
            institution_code=self.config.code,
            outcome=DecisionOutcome(record.outcome),
            reason=record.reason,
        )
        return 200, answer.model_dump(mode="json")

    def issue(self, request: IssueRequest) -> tuple[int, Any]:
        if self.config.refuse_issue:
            return 422, {"code": protocol.ISSUANCE_REFUSED, "detail": "the bank refuses to issue"}
        with self.issue_lock:  # one guarantee per application, even for concurrent retries
            with self.state.lock:
                record = self.state.applications.setdefault(
                    request.application_id, ApplicationRecord(request.application_id, outcome="approved")
                )
            if record.outcome == "rejected":
                return 422, {"code": protocol.ISSUANCE_REFUSED, "detail": "the application was rejected"}
            if record.guarantee is None:
                record.guarantee = self._new_guarantee(request)
                record.issue_count += 1
            issued = dict(record.guarantee)
            if self.config.render_letter:
                code = request.verification_code
                if code not in record.letters:
                    record.letters[code] = self._letter(request, GuaranteeData.model_validate(issued["data"]))
                issued["letter_pdf_b64"] = record.letters[code]
        return 200, issued

    def _new_guarantee(self, request: IssueRequest) -> dict[str, Any]:
        now = datetime.now(UTC)
        number = (
            f"{self.config.number_prefix}{now.astimezone(SHANGHAI):%Y%m%d}-{secrets.token_hex(6).upper()}"
        )
        data = GuaranteeData.answering(
            request, guarantee_no=number, institution_code=self.config.code, issued_at=now
        )
        signature = sign_canonical(self.identity.sm2_key, data.signed_value())
        issued = IssuedGuarantee(data=data, key_id=self.identity.key_id, signature_b64=signature)
        return issued.model_dump(mode="json")

    def _letter(self, request: IssueRequest, data: GuaranteeData) -> str:
        letter = issue_letter(
            letter_for(request, data, self.config.name),
            self.identity.letter_signer,
        )
        return base64.b64encode(letter.pdf).decode("ascii")

    def guarantee(self, application_id: str) -> tuple[int, Any]:
        with self.state.lock:
            record = self.state.applications.get(application_id)
            issued = None if record is None or record.guarantee is None else dict(record.guarantee)
            letters = {} if record is None else dict(record.letters)
        if issued is None:
            return 404, {"code": "not_issued", "detail": f"no guarantee for {application_id}"}
        if letters:
            issued["letter_pdf_b64"] = next(reversed(letters.values()))
        return 200, issued

    def surrender(self, request: Surrender) -> tuple[int, Any]:
        return 200, SurrenderAck(guarantee_no=request.guarantee_no, accepted=True).model_dump(mode="json")

    def claim(self, request: Claim) -> tuple[int, Any]:
        return 200, ClaimAck(claim_id=request.claim_id, received_at=datetime.now(UTC)).model_dump(mode="json")

    def extend(self, request: Extension) -> tuple[int, Any]:
        result = ExtensionResult(
            guarantee_no=request.guarantee_no, approved=True, new_cover_end=request.new_cover_end
        )
        return 200, result.model_dump(mode="json")

    # ------------------------------------------------------------------ HTTP machinery

    def signed(self, status: int, payload: Any, path: str, extra: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = sign_response(
            self.identity.sm2_key, self.identity.key_id, str(status), path, body, timestamp=int(time.time())
        )
        return Response(body, status, headers={**headers, **(extra or {})}, media_type="application/json")

    def authenticate(self, request: Request, path: str, body: bytes) -> Response | None:
        headers = dict(request.headers)
        try:
            timestamp = int(headers.get("gw-timestamp", ""))
        except ValueError:
            return self.signed(401, {"code": "malformed_signature"}, path)
        if abs(time.time() - timestamp) > SIGNATURE_WINDOW_S:
            return self.signed(401, {"code": "stale_timestamp"}, path)
        if not verify_response(self.config.gateway_public_key, headers, request.method, path, body):
            return self.signed(401, {"code": "bad_signature"}, path)
        if not self.state.remember_nonce(headers.get("gw-nonce", ""), SIGNATURE_WINDOW_S):
            return self.signed(401, {"code": "replayed_nonce"}, path)
        return None

    async def read(self, request: Request, op: str) -> tuple[str, bytes, Response | None]:
        body = await request.body()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        refused = self.authenticate(request, path, body)
        if refused is not None:
            return path, body, refused
        faults = self.config.faults
        if faults.delay(op) > 0:
            await asyncio.sleep(faults.delay(op))
        if faults.roll("error_rate", op):
            return path, body, self.signed(503, {"code": "fault_error"}, path)
        return path, body, None

    async def post(
        self, request: Request, op: str, model: type[M], action: Callable[[M], tuple[int, Any]]
    ) -> Response:
        path, body, early = await self.read(request, op)
        if early is not None:
            return early
        key = request.headers.get(protocol.IDEMPOTENCY_KEY)
        if not key:
            return self.signed(400, {"code": "idempotency_key_required"}, path)
        fingerprint = f"POST {path} {sm3_hex(body)}"
        with self.state.lock:
            record = self.state.requests.get(key)
            if record is None:
                self.state.requests[key] = RequestRecord(fingerprint)
        if record is not None:
            if record.fingerprint != fingerprint:
                return self.signed(422, {"code": "idempotency_key_reused"}, path)
            if record.state != "completed":
                return self.signed(409, {"code": "in_progress"}, path, {"Retry-After": "1"})
            return self.signed(record.status, record.body, path)
        try:
            message = model.model_validate_json(body)
            status, payload = await run_in_threadpool(action, message)
        except ValidationError as exc:
            with self.state.lock:
                del self.state.requests[key]
            return self.signed(422, {"code": "invalid_body", "detail": str(exc)[:500]}, path)
        except BaseException:
            with self.state.lock:
                del self.state.requests[key]
            raise
        with self.state.lock:
            completed = self.state.requests[key]
            completed.state, completed.status, completed.body = "completed", status, payload
        faults = self.config.faults
        if faults.roll("timeout_rate", op):
            await asyncio.sleep(faults.timeout_s)
        if faults.roll("drop_rate", op):
            return _DroppedResponse()
        return self.signed(status, payload, path)

    async def get(self, request: Request, op: str, action: Callable[[], tuple[int, Any]]) -> Response:
        path, _body, early = await self.read(request, op)
        if early is not None:
            return early
        status, payload = action()
        faults = self.config.faults
        if faults.roll("timeout_rate", op):
            await asyncio.sleep(faults.timeout_s)
        # Still running: come back in a second (the gateway honours Retry-After).
        return self.signed(status, payload, path, {"Retry-After": "1"} if status == 409 else None)

    def outcome(self, key: str) -> tuple[int, Any]:
        with self.state.lock:
            record = self.state.requests.get(key)
        if record is None:
            return 404, {"state": "unknown"}
        if record.state != "completed":
            return 409, {"state": "in_progress"}
        return 200, {"state": "completed", "status": record.status, "body": record.body}

    def snapshot(self) -> dict[str, Any]:
        with self.state.lock:
            return {
                "applications": {
                    app_id: {
                        "outcome": record.outcome,
                        "guarantee_no": None
                        if record.guarantee is None
                        else record.guarantee["data"]["guarantee_no"],
                        "issue_count": record.issue_count,
                    }
                    for app_id, record in self.state.applications.items()
                },
                "callbacks": list(self.state.callbacks),
                "requests": len(self.state.requests),
            }


class _DroppedResponse(Response):
    """The 'dropped after commit' fault: start an answer, then cut the connection mid-body."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"', "more_body": True})
        raise ConnectionAbortedError("fault: response dropped after commit")


def identity_file(state_dir: Path) -> Path:
    return state_dir / "identity.json"


def create_partner_app(config: PartnerConfig) -> FastAPI:
    identity = load_or_create_identity(config.state_dir / "pki", config.code, config.name)
    # What a gateway operator needs to register this bank: its code, key id and certificate.
    identity_file(config.state_dir).write_text(
        json.dumps(
            {
                "code": config.code,
                "name": config.name,
                "key_id": identity.key_id,
                "certificate_pem": identity.sm2_certificate.to_pem().decode(),
                "public_key_pem": identity.sm2_key.public_key().to_pem().decode(),
            }
        ),
        encoding="utf-8",
    )
    partner = _Partner(config, identity)
    app = FastAPI(title=f"Reference partner server ({config.code})", openapi_url=None)
    app.state.partner = partner

    @app.post(protocol.QUOTES)
    async def quote(request: Request) -> Response:
        return await partner.post(request, "quote", QuoteRequest, partner.quote)

    @app.post(protocol.submission("{application_id}"))
    async def submit(request: Request) -> Response:
        return await partner.post(request, "submit", ApplicationSubmission, partner.submit)

    @app.get(protocol.decision("{application_id}"))
    async def decision(application_id: str, request: Request) -> Response:
        return await partner.get(request, "decision", lambda: partner.decision(application_id))

    @app.post(protocol.issuance("{application_id}"))
    async def issue(request: Request) -> Response:
        return await partner.post(request, "issue", IssueRequest, partner.issue)

    @app.get(protocol.guarantee("{application_id}"))
    async def guarantee(application_id: str, request: Request) -> Response:
        return await partner.get(request, "guarantee", lambda: partner.guarantee(application_id))

    @app.post(protocol.surrender("{guarantee_no}"))
    async def surrender(request: Request) -> Response:
        return await partner.post(request, "surrender", Surrender, partner.surrender)

    @app.post(protocol.CLAIMS)
    async def claim(request: Request) -> Response:
        return await partner.post(request, "claim", Claim, partner.claim)

    @app.post(protocol.extension("{guarantee_no}"))
    async def extend(request: Request) -> Response:
        return await partner.post(request, "extend", Extension, partner.extend)

    @app.get(protocol.request_outcome("{key}"))
    async def outcome(key: str, request: Request) -> Response:
        return await partner.get(request, "outcome", lambda: partner.outcome(key))

    @app.get("/sandbox/state")
    def sandbox_state() -> dict[str, Any]:
        """Unsigned test hook: what this bank believes (issue counts, callbacks sent)."""
        return partner.snapshot()

    return app
