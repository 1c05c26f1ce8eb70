"""The push-mode HTTP adapter against a scripted institution (httpx MockTransport): signatures both
ways, retries with one Idempotency-Key, Retry-After, unknown outcomes resolved by a status query, the
circuit breaker in a quote fan-out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.banks.http import HttpInstitution, PushConfig, protocol
from contracts.institutions import (
    InstitutionUnavailable,
    IssuanceRefused,
    IssueRequest,
    QuoteRequest,
    StatusQuery,
)
from contracts.uscc import make_uscc
from signing.http_signature import sign_response, verify_response
from signing.sm2 import Sm2PrivateKey

GATEWAY_KEY = Sm2PrivateKey.generate()
BANK_KEY = Sm2PrivateKey.generate()
CODE = "PUSH-T"


def quote_request(application_id: str = "ap_1") -> QuoteRequest:
    return QuoteRequest.model_validate(
        {
            "application_id": application_id,
            "institution_code": CODE,
            "product": "bid",
            "section_code": "S-0001",
            "bidder_uscc": str(make_uscc("91440300MA5T00001")),
            "bidder_name": "投标人",
            "tenderee_name": "招标人",
            "amount_fen": 80_000_000,
            "cover_start": date(2026, 12, 1),
            "cover_end": date(2027, 3, 1),
            "schedule_premium_fen": 160_000,
        }
    )


def issue_request() -> IssueRequest:
    return IssueRequest.model_validate(
        {
            "application_id": "ap_1",
            "institution_code": CODE,
            "quote": quote_request().model_dump(mode="json"),
            "premium_fen": 160_000,
            "beneficiary_name": "招标人",
            "beneficiary_uscc": str(make_uscc("12440300MB2TEMT01")),
            "section_name": "标段",
            "project_name": "项目",
            "verification_code": "ABCD1234",
            "verify_base_url": "http://gw",
        }
    )


def quote_body(application_id: str = "ap_1") -> dict[str, Any]:
    return {
        "application_id": application_id,
        "institution_code": CODE,
        "premium_fen": 150_000,
        "decision": "instant",
        "valid_until": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
    }


def signed(
    status: int,
    payload: Any,
    path: str,
    key: Sm2PrivateKey = BANK_KEY,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    signature = sign_response(
        key, "bank-1", str(status), path, body, timestamp=int(datetime.now(UTC).timestamp())
    )
    return httpx.Response(status, content=body, headers={**signature, **(headers or {})})


class Bank:
    """Scripted answers per call, and a record of what was sent."""

    def __init__(self, script: list[Callable[[httpx.Request], httpx.Response]]) -> None:
        self.script = script
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        # every request is signed by the gateway, over what was really sent
        assert verify_response(
            GATEWAY_KEY.public_key(), dict(request.headers), request.method, request.url.raw_path.decode(),
            request.content,
        )  # fmt: skip
        return self.script.pop(0)(request)


def adapter(bank: Bank, sleeps: list[float] | None = None, **config: Any) -> HttpInstitution:
    return HttpInstitution(
        code=CODE,
        base_url="http://bank.test",
        gateway_key_id="gateway-1",
        gateway_key=GATEWAY_KEY,
        institution_key=BANK_KEY.public_key(),
        config=PushConfig(**config),
        transport=httpx.MockTransport(bank),
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )


def test_5xx_then_success_is_retried_with_the_same_idempotency_key_and_fresh_nonces() -> None:
    bank = Bank([
        lambda r: signed(503, {"code": "busy"}, protocol.QUOTES),
        lambda r: signed(500, {"code": "oops"}, protocol.QUOTES),
        lambda r: signed(200, quote_body(), protocol.QUOTES),
    ])  # fmt: skip
    sleeps: list[float] = []
    quote = adapter(bank, sleeps, backoff_base_s=0.1, backoff_cap_s=0.15).quote(quote_request())
    assert quote.premium_fen is not None
    assert quote.premium_fen.fen == 150_000
    keys = {r.headers["Idempotency-Key"] for r in bank.seen}
    nonces = {r.headers["Gw-Nonce"] for r in bank.seen}
    assert len(bank.seen) == 3
    assert len(keys) == 1
    assert len(nonces) == 3
    # capped full jitter: each wait within [0, min(cap, base * 2^n)]
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.1
    assert 0 <= sleeps[1] <= 0.15


def test_429_retry_after_is_honoured_up_to_the_cap() -> None:
    bank = Bank([
        lambda r: signed(429, {}, protocol.QUOTES, headers={"Retry-After": "2"}),
        lambda r: signed(429, {}, protocol.QUOTES, headers={"Retry-After": "120"}),
        lambda r: signed(200, quote_body(), protocol.QUOTES),
    ])  # fmt: skip
    sleeps: list[float] = []
    adapter(bank, sleeps, retry_after_cap_s=5.0).quote(quote_request())
    assert sleeps == [2.0, 5.0]


def test_attempts_run_out_as_institution_unavailable() -> None:
    bank = Bank([lambda r: signed(503, {}, protocol.QUOTES)] * 3)
    with pytest.raises(InstitutionUnavailable, match="HTTP 503"):
        adapter(bank, max_attempts=3).quote(quote_request())
    assert len(bank.seen) == 3


def test_a_lost_answer_is_resolved_by_the_status_query_not_by_sending_again() -> None:
    outcome_path: list[str] = []

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    def completed(request: httpx.Request) -> httpx.Response:
        outcome_path.append(request.url.path)
        path = request.url.path
        return (
            signed(409, {"state": "in_progress"}, path)
            if len(outcome_path) == 1
            else signed(
                200,
                {"state": "completed", "status": 422, "body": {"code": "issuance_refused", "detail": "no"}},
                path,
            )
        )

    bank = Bank([timeout, completed, completed])
    with pytest.raises(IssuanceRefused):
        adapter(bank).issue(issue_request())
    posts = [r for r in bank.seen if r.method == "POST"]
    assert len(posts) == 1  # never sent twice
    key = posts[0].headers["Idempotency-Key"]
    assert outcome_path == [protocol.request_outcome(key)] * 2


def test_an_outcome_never_committed_is_sent_again_with_the_same_key() -> None:
    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    bank = Bank([
        dropped,
        lambda r: signed(404, {"state": "unknown"}, r.url.path),
        lambda r: signed(200, quote_body(), protocol.QUOTES),
    ])  # fmt: skip
    adapter(bank).quote(quote_request())
    posts = [r for r in bank.seen if r.method == "POST"]
    assert [r.method for r in bank.seen] == ["POST", "GET", "POST"]
    assert posts[0].headers["Idempotency-Key"] == posts[1].headers["Idempotency-Key"]


def test_a_connect_error_is_retried_without_a_status_query() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    bank = Bank([refused, lambda r: signed(200, quote_body(), protocol.QUOTES)])
    adapter(bank).quote(quote_request())
    assert [r.method for r in bank.seen] == ["POST", "POST"]


@pytest.mark.parametrize("forged", ["other key", "unsigned", "body changed"])
def test_an_answer_not_signed_by_the_institution_is_not_trusted(forged: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if forged == "other key":
            return signed(200, quote_body(), protocol.QUOTES, key=Sm2PrivateKey.generate())
        if forged == "unsigned":
            return httpx.Response(200, json=quote_body())
        good = signed(200, quote_body(), protocol.QUOTES)
        return httpx.Response(200, content=good.content.replace(b"150000", b"100"), headers=good.headers)

    with pytest.raises(InstitutionUnavailable, match="not signed"):
        adapter(Bank([answer])).quote(quote_request())


def test_an_answer_about_another_application_is_refused() -> None:
    bank = Bank([lambda r: signed(200, quote_body("ap_other"), protocol.QUOTES)])
    with pytest.raises(InstitutionUnavailable, match="another application"):
        adapter(bank).quote(quote_request())


def test_status_is_a_plain_get_retried_on_timeouts() -> None:
    path = protocol.decision("ap_1")

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    decision = {"application_id": "ap_1", "institution_code": CODE, "outcome": "approved"}
    bank = Bank([timeout, lambda r: signed(200, decision, path)])
    result = adapter(bank).status(StatusQuery(application_id="ap_1", institution_code=CODE))
    assert result.outcome.value == "approved"
    assert [(r.method, r.url.path) for r in bank.seen] == [("GET", path)] * 2


def test_an_open_breaker_refuses_quotes_at_once_without_calling() -> None:
    bank = Bank([lambda r: signed(503, {}, protocol.QUOTES)] * 4)
    push = adapter(bank, max_attempts=2, breaker_failures=2, breaker_cool_down_s=60)
    for _ in range(2):
        with pytest.raises(InstitutionUnavailable):
            push.quote(quote_request())
    sent = len(bank.seen)
    with pytest.raises(InstitutionUnavailable, match="circuit open"):
        push.quote(quote_request())
    assert len(bank.seen) == sent == 4
