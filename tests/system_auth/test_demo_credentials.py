"""credentials.json lets anyone drive the system APIs with their own client (interfaces.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from gateway.composition import Container
from gateway.demo.seed import seed_demo
from signing.http_signature import sign_request, verify_response
from signing.sm2 import Sm2PrivateKey, Sm2PublicKey


def _get(client: TestClient, party: dict[str, str], path: str) -> tuple[int, dict[str, str], bytes]:
    key = Sm2PrivateKey.from_pem(party["private_key_pem"])
    header = sign_request(
        key, party["key_id"], "GET", path, b"", timestamp=int(datetime.now(UTC).timestamp())
    )
    response = client.get(path, headers={"Authorization": header})
    return response.status_code, dict(response.headers), response.content


def test_center_bank_and_institution_keys_sign_requests_the_gateway_accepts(
    container: Container, client: TestClient
) -> None:
    credentials = json.loads(seed_demo(container).read_text(encoding="utf-8"))
    gateway_key = Sm2PublicKey.from_pem(credentials["gateway_public_key_pem"])
    calls = [
        (credentials["center"], "/center/v1/events?limit=5"),
        (credentials["escrow_bank"], "/bank/v1/events?limit=5"),
        *((institution, "/partner/v1/events?limit=5") for institution in credentials["institutions"]),
    ]
    for party, path in calls:
        status, headers, body = _get(client, party, path)
        assert status == 200, (party["key_id"], body)
        assert verify_response(gateway_key, headers, "200", path, body)


def test_seeding_twice_keeps_the_keys(container: Container) -> None:
    first = json.loads(seed_demo(container).read_text(encoding="utf-8"))
    second = json.loads(seed_demo(container).read_text(encoding="utf-8"))
    for party in ("center", "escrow_bank"):
        assert first[party]["private_key_pem"] == second[party]["private_key_pem"]
    assert first["gateway_public_key_pem"] == second["gateway_public_key_pem"]
