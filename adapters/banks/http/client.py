"""The push-mode institution adapter: the gateway calls an institution's HTTP API (docs/partner-push.md).

Every call is signed with the gateway's SM2 key (headers Gw-Key-Id/-Timestamp/-Nonce/-Signature over
``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSM3(body)\\n``) and every answer we act on must carry the
institution's signature (same headers, ``STATUS`` first) verifying against its certificate.

Failures, and what each means:

- connect error / connect timeout: the request never left; retried.
- 5xx / 429: retried after capped full jitter, or after Retry-After (capped) when the server says so.
- read timeout / connection dropped after sending: the outcome is *unknown*. We never send again on a
  guess: we ask ``GET /push/v1/requests/{Idempotency-Key}`` what became of it; a completed request
  gives us its original answer, an unknown one is sent again (same key), one in progress is asked
  again after a pause.

One logical call keeps one Idempotency-Key through all its retries, so even a partner that commits
and then loses the answer does the work once. When attempts run out the call raises
`InstitutionUnavailable`: the order stays where it was and the reconciler picks it up later.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import tenacity
from pydantic import BaseModel, ValidationError

from adapters.banks.http import protocol
from adapters.banks.http.breaker import CircuitBreaker
from contracts.institutions import (
    ApplicationSubmission,
    Claim,
    ClaimAck,
    Decision,
    Extension,
    ExtensionResult,
    InstitutionUnavailable,
    IssuanceRefused,
    IssuedGuarantee,
    IssueRequest,
    Quote,
    QuoteRequest,
    StatusQuery,
    Surrender,
    SurrenderAck,
)
from signing.http_signature import sign_response, verify_response
from signing.sm2 import Sm2PrivateKey, Sm2PublicKey

log = logging.getLogger("adapters.banks.http")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class PushConfig:
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    max_attempts: int = 4  # per logical call, resolution queries included
    backoff_base_s: float = 0.1
    backoff_cap_s: float = 2.0
    retry_after_cap_s: float = 5.0  # a partner cannot park us longer than this per attempt
    breaker_failures: int = 5
    breaker_cool_down_s: float = 30.0


class _Retry(Exception):
    """This attempt failed in a way that another attempt may fix."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class _Unknown(Exception):
    """The request was sent and no answer came: resolve by a status query before anything else."""


@dataclass
class _Answer:
    status: int
    body: Any
    retry_after_s: float | None = None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff


@dataclass
class HttpInstitution:
    """Implements every Protocol of `contracts.institutions.InstitutionAdapter` over HTTP."""

    code: str
    base_url: str
    gateway_key_id: str
    gateway_key: Sm2PrivateKey = field(repr=False)
    institution_key: Sm2PublicKey = field(repr=False)
    config: PushConfig = field(default_factory=PushConfig)
    transport: httpx.BaseTransport | None = None  # tests inject a MockTransport
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], float] = time.time  # signature timestamps
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    rng: random.Random = field(default_factory=random.Random)
    wiring_id: str = ""  # what it was built from (the composition root rebuilds it when that changes)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.breaker = CircuitBreaker(
            self.config.breaker_failures, self.config.breaker_cool_down_s, clock=self.breaker.clock
        )

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            timeout = httpx.Timeout(self.config.read_timeout_s, connect=self.config.connect_timeout_s)
            self._client = httpx.Client(
                base_url=self.base_url.rstrip("/"), timeout=timeout, transport=self.transport
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # ------------------------------------------------------------------ the Protocols

    def quote(self, request: QuoteRequest) -> Quote:
        if not self.breaker.allow():
            raise InstitutionUnavailable(
                f"{self.code}: circuit open (retry in {self.breaker.retry_after_s():.0f} s)"
            )
        quote = self._post(protocol.QUOTES, request, Quote)
        self._check(quote.application_id == request.application_id and quote.institution_code == self.code)
        return quote

    def submit(self, submission: ApplicationSubmission) -> Decision:
        decision = self._post(protocol.submission(submission.application_id), submission, Decision)
        self._check(decision.application_id == submission.application_id)
        return decision

    def status(self, query: StatusQuery) -> Decision:
        decision = self._get(protocol.decision(query.application_id), Decision)
        self._check(decision.application_id == query.application_id)
        return decision

    def issue(self, request: IssueRequest) -> IssuedGuarantee:
        # The signature over the data is verified by the broker against the certificate it stores.
        return self._post(protocol.issuance(request.application_id), request, IssuedGuarantee)

    def surrender(self, request: Surrender) -> SurrenderAck:
        return self._post(protocol.surrender(str(request.guarantee_no)), request, SurrenderAck)

    def claim(self, request: Claim) -> ClaimAck:
        return self._post(protocol.CLAIMS, request, ClaimAck)

    def extend(self, request: Extension) -> ExtensionResult:
        return self._post(protocol.extension(str(request.guarantee_no)), request, ExtensionResult)

    # ------------------------------------------------------------------ machinery

    def _check(self, ok: bool) -> None:
        if not ok:
            self.breaker.record_failure()
            raise InstitutionUnavailable(f"{self.code}: the answer is about another application")

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Retry) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, self.config.retry_after_cap_s)
        ceiling = min(self.config.backoff_cap_s, self.config.backoff_base_s * 2 ** (state.attempt_number - 1))
        return self.rng.uniform(0, ceiling)  # full jitter

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.config.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retry),
            sleep=self.sleep,
            reraise=True,
        )

    def _post(self, path: str, message: BaseModel, model: type[M]) -> M:
        body = message.model_dump_json().encode()
        key = f"gw-{uuid.uuid4().hex}"  # one logical call, one key, through every retry
        state = {"sent": False}  # once a send's outcome was unknown, ask before sending again

        def attempt() -> _Answer:
            if state["sent"]:
                outcome = self._resolve(key)
                if outcome is not None:
                    return outcome
            try:
                return self._exchange("POST", path, body, key)
            except _Unknown as exc:
                state["sent"] = True
                raise _Retry(str(exc)) from exc

        return self._run(attempt, model)

    def _get(self, path: str, model: type[M]) -> M:
        def attempt() -> _Answer:
            try:
                return self._exchange("GET", path, b"", None)
            except _Unknown as exc:  # a read has no effect to lose: just ask again
                raise _Retry(str(exc)) from exc

        return self._run(attempt, model)

    def _run(self, attempt: Callable[[], _Answer], model: type[M]) -> M:
        try:
            answer = self._retrying()(attempt)
        except (_Retry, InstitutionUnavailable) as exc:
            self.breaker.record_failure()
            raise InstitutionUnavailable(f"{self.code}: {exc}") from exc
        if (
            answer.status == 422
            and isinstance(answer.body, dict)
            and answer.body.get("code") == protocol.ISSUANCE_REFUSED
        ):
            self.breaker.record_success()  # a refusal is an answer: the institution is alive
            raise IssuanceRefused(f"{self.code}: {answer.body.get('detail') or 'refuses to issue'}")
        if answer.status != 200:
            self.breaker.record_failure()
            raise InstitutionUnavailable(
                f"{self.code}: unexpected HTTP {answer.status}: {str(answer.body)[:200]}"
            )
        try:
            result = model.model_validate(answer.body)
        except ValidationError as exc:
            self.breaker.record_failure()
            raise InstitutionUnavailable(
                f"{self.code}: malformed {model.__name__}: {exc.error_count()} error(s)"
            ) from exc
        self.breaker.record_success()
        return result

    def _resolve(self, key: str) -> _Answer | None:
        """The status query for an unknown outcome: the original answer, or None (never committed)."""
        try:
            answer = self._exchange("GET", protocol.request_outcome(key), b"", None)
        except _Unknown as exc:
            raise _Retry(f"status query: {exc}") from exc
        envelope = answer.body if isinstance(answer.body, dict) else {}
        if answer.status == 404 and envelope.get("state") == "unknown":
            log.info("unknown outcome resolved: never committed; sending again", extra={"key": key})
            return None
        if answer.status == 409:
            raise _Retry("the first attempt is still running", answer.retry_after_s)
        if answer.status == 200 and envelope.get("state") == "completed":
            log.info("unknown outcome resolved: committed; using its answer", extra={"key": key})
            return _Answer(int(envelope["status"]), envelope.get("body"))
        raise InstitutionUnavailable(f"status query answered HTTP {answer.status}")

    def _exchange(self, method: str, path: str, body: bytes, key: str | None) -> _Answer:
        headers = sign_response(
            self.gateway_key, self.gateway_key_id, method, path, body, timestamp=int(self.wall_clock())
        )
        headers["Content-Type"] = "application/json"
        if key is not None:
            headers[protocol.IDEMPOTENCY_KEY] = key
        try:
            response = self.client.request(method, path, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Retry(f"{type(exc).__name__}: not sent") from exc
        except httpx.TransportError as exc:  # read timeout, dropped connection: it may have arrived
            raise _Unknown(f"{type(exc).__name__}: sent, no answer") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retry(f"HTTP {response.status_code}", _retry_after(response.headers.get("Retry-After")))
        if response.status_code in (200, 404, 409, 422) and not verify_response(
            self.institution_key, dict(response.headers), str(response.status_code), path, response.content
        ):
            raise InstitutionUnavailable(
                f"{self.code}: answer to {method} {path} is not signed by its certificate"
            )
        try:
            parsed = json.loads(response.content) if response.content else None
        except ValueError as exc:
            raise InstitutionUnavailable(f"{self.code}: answer is not JSON") from exc
        return _Answer(response.status_code, parsed, _retry_after(response.headers.get("Retry-After")))
