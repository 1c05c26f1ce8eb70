"""The reference partner server in-process (TestClient): it refuses what the gateway did not sign,
replays by Idempotency-Key, tells the outcome of a request, issues once per application, and parses
its fault options; plus its CLI and the reconcile CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.banks.http import protocol
from adapters.partner_sandbox.faults import FaultSyntaxError, parse_faults
from adapters.partner_sandbox.server import PartnerConfig, create_partner_app
from contracts.institutions import IssuedGuarantee
from signing.certificates import Sm2Certificate
from signing.http_signature import sign_response, verify_response
from signing.signed_data import verify_canonical
from signing.sm2 import Sm2PrivateKey
from tests.push.test_push_adapter import issue_request, quote_request

GATEWAY = Sm2PrivateKey.generate()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bank(tmp_path: Path) -> TestClient:
    app = create_partner_app(
        PartnerConfig(
            state_dir=tmp_path, gateway_public_key=GATEWAY.public_key(), code="PUSH-T", render_letter=False
        )
    )
    return TestClient(app)


def call(
    bank: TestClient,
    method: str,
    path: str,
    payload: Any = None,
    *,
    key: str | None = None,
    signer: Sm2PrivateKey = GATEWAY,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> Any:
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = sign_response(
        signer, "gateway-1", method, path, body, timestamp=timestamp or int(time.time()), nonce=nonce
    )
    if key is not None:
        headers[protocol.IDEMPOTENCY_KEY] = key
    return bank.request(method, path, content=body, headers=headers)


def bank_key(tmp_path: Path) -> Any:
    identity = json.loads((tmp_path / "identity.json").read_text(encoding="utf-8"))
    return Sm2Certificate.from_pem(identity["certificate_pem"].encode()).sm2_public_key()


def test_answers_are_signed_by_the_bank_certificate(bank: TestClient, tmp_path: Path) -> None:
    response = call(bank, "POST", protocol.QUOTES, quote_request().model_dump(mode="json"), key="k1")
    assert response.status_code == 200
    assert verify_response(
        bank_key(tmp_path), dict(response.headers), "200", protocol.QUOTES, response.content
    )


@pytest.mark.parametrize(
    ("case", "code"),
    [("other key", "bad_signature"), ("stale", "stale_timestamp"), ("replay", "replayed_nonce")],
)
def test_requests_not_signed_by_the_gateway_are_refused(bank: TestClient, case: str, code: str) -> None:
    payload = quote_request().model_dump(mode="json")
    if case == "replay":
        assert call(bank, "POST", protocol.QUOTES, payload, key="a", nonce="n" * 32).status_code == 200
        response = call(bank, "POST", protocol.QUOTES, payload, key="b", nonce="n" * 32)
    elif case == "stale":
        response = call(bank, "POST", protocol.QUOTES, payload, key="a", timestamp=int(time.time()) - 301)
    else:
        response = call(bank, "POST", protocol.QUOTES, payload, key="a", signer=Sm2PrivateKey.generate())
    assert response.status_code == 401
    assert response.json()["code"] == code


def test_idempotency_by_key_and_the_outcome_query(bank: TestClient) -> None:
    payload = issue_request().model_dump(mode="json")
    path = protocol.issuance("ap_1")
    assert call(bank, "GET", protocol.request_outcome("k-issue")).json() == {"state": "unknown"}
    first = call(bank, "POST", path, payload, key="k-issue")
    again = call(bank, "POST", path, payload, key="k-issue")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    outcome = call(bank, "GET", protocol.request_outcome("k-issue")).json()
    assert outcome == {"state": "completed", "status": 200, "body": first.json()}
    other = dict(payload, premium_fen=1)
    assert call(bank, "POST", path, other, key="k-issue").json()["code"] == "idempotency_key_reused"
    assert call(bank, "POST", path, payload).json()["code"] == "idempotency_key_required"


def test_one_guarantee_per_application_even_with_new_keys(bank: TestClient, tmp_path: Path) -> None:
    payload = issue_request().model_dump(mode="json")
    path = protocol.issuance("ap_1")
    first = IssuedGuarantee.model_validate(call(bank, "POST", path, payload, key="k1").json())
    second = IssuedGuarantee.model_validate(call(bank, "POST", path, payload, key="k2").json())
    assert first == second
    assert verify_canonical(bank_key(tmp_path), first.data.signed_value(), first.signature_b64)
    fetched = call(bank, "GET", protocol.guarantee("ap_1")).json()
    assert fetched["data"]["guarantee_no"] == str(first.data.guarantee_no)
    assert call(bank, "GET", protocol.guarantee("ap_2")).status_code == 404
    assert bank.get("/sandbox/state").json()["applications"]["ap_1"]["issue_count"] == 1


def test_fault_options_parse_and_bad_ones_are_refused() -> None:
    faults = parse_faults(["latency=0.5@quote,issue", "error_rate=0.25", "seed=3", "drop-rate=1@issue"])
    assert faults.delay("quote") == 0.5
    assert faults.delay("submit") == 0.0
    assert faults.roll("drop_rate", "issue")
    assert not faults.roll("drop_rate", "quote")
    for bad in ["nonsense=1", "error_rate=2", "latency=x", "latency=1@nowhere", "latency"]:
        with pytest.raises(FaultSyntaxError):
            parse_faults([bad])


def test_cli_refuses_a_bad_fault_with_exit_2(tmp_path: Path) -> None:
    key = tmp_path / "gw.pem"
    key.write_bytes(GATEWAY.public_key().to_pem())
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "partner-sandbox", "serve", "--port", "9", "--state-dir",
         str(tmp_path / "s"), "--gateway-public-key", str(key), "--fault", "error_rate=7"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "error_rate=7 is out of range" in result.stderr
