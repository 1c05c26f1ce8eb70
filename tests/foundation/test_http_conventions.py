"""Every error is RFC 9457 problem+json with a stable code; every response has a Request-Id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from gateway.auth.tokens import Role, issue_token
from gateway.composition import Container

PROBLEM = "application/problem+json"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_unknown_route_is_a_problem_with_request_id(probe_client: TestClient) -> None:
    response = probe_client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["type"] == "/problems/not_found"
    assert body["request_id"] == response.headers["request-id"]


def test_wrong_method_is_405_problem(probe_client: TestClient) -> None:
    response = probe_client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_incoming_request_id_is_echoed_and_unsafe_one_replaced(probe_client: TestClient) -> None:
    assert probe_client.get("/healthz", headers={"Request-Id": "abc-123"}).headers["request-id"] == "abc-123"
    replaced = probe_client.get("/healthz", headers={"Request-Id": "bad id\twith spaces"}).headers[
        "request-id"
    ]
    assert replaced != "bad id\twith spaces"
    assert len(replaced) == 32


def test_malformed_json_is_400(probe_client: TestClient, bidder_token: str) -> None:
    response = probe_client.post(
        "/probe/orders",
        content=b'{"section_code": ',
        headers={**auth(bidder_token), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_wrong_types_and_unknown_fields_list_every_field(probe_client: TestClient, bidder_token: str) -> None:
    response = probe_client.post(
        "/probe/orders",
        headers=auth(bidder_token),
        json={"section_code": "", "amount_fen": "lots", "colour": "red"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"body.section_code", "body.amount_fen", "body.colour"}


def test_domain_error_maps_to_its_code_and_extra_fields(probe_client: TestClient) -> None:
    response = probe_client.post("/probe/conflicts")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["detail"], body["order_id"]) == (
        "conflict",
        "That order was already paid",
        "o-1",
    )


def test_crash_is_500_problem_without_internals(probe_client: TestClient) -> None:
    response = probe_client.get("/probe/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "internal_error"
    assert "secret-internal-detail" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["request-id"]


def test_oversized_body_is_413(container: Container, probe_client: TestClient, bidder_token: str) -> None:
    limit = container.settings.max_body_bytes
    response = probe_client.post(
        "/probe/orders",
        headers={**auth(bidder_token), "content-type": "application/json"},
        content=b"x" * (limit + 1),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_oversized_chunked_body_is_413_too(
    probe_client: TestClient, container: Container, bidder_token: str
) -> None:
    limit = container.settings.max_body_bytes

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    response = probe_client.post(
        "/probe/orders", headers={**auth(bidder_token), "content-type": "application/json"}, content=chunks()
    )
    assert response.status_code == 413


def test_missing_token_is_401_and_wrong_role_403(probe_client: TestClient, container: Container) -> None:
    assert (
        probe_client.post("/probe/orders", json={"section_code": "S1", "amount_fen": 1}).json()["code"]
        == "unauthorized"
    )
    finance = issue_token(
        container.token_key, Role.FINANCE, "SZ-GGZY", now=datetime.now(UTC), ttl=timedelta(hours=1)
    )
    response = probe_client.post(
        "/probe/orders", headers=auth(finance), json={"section_code": "S1", "amount_fen": 1}
    )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("header", "code"),
    [("Bearer nonsense", "invalid_token"), ("Basic dXNlcjpwYXNz", "unsupported_auth_scheme")],
)
def test_bad_credentials_are_401(probe_client: TestClient, header: str, code: str) -> None:
    response = probe_client.get("/healthz", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_expired_token_is_401_token_expired(probe_client: TestClient, container: Container) -> None:
    old = issue_token(
        container.token_key,
        Role.BIDDER,
        "X1",
        now=datetime.now(UTC) - timedelta(hours=2),
        ttl=timedelta(hours=1),
    )
    assert probe_client.get("/healthz", headers=auth(old)).json()["code"] == "token_expired"


def test_healthz_checks_the_database(probe_client: TestClient) -> None:
    response = probe_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(
    probe_client: TestClient, container: Container
) -> None:
    from gateway.db import make_engine

    container.engine = make_engine("postgresql://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    response = probe_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


def test_metrics_count_requests_by_route_and_status(probe_client: TestClient) -> None:
    probe_client.get("/healthz")
    probe_client.get("/healthz")
    probe_client.get("/nowhere")
    text = probe_client.get("/metrics").text
    assert 'gateway_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert 'gateway_http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in text
    assert 'gateway_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"}' in text


def test_extras_cannot_override_the_standard_problem_members(probe_client: TestClient) -> None:
    # An extra named like a standard member used to crash the handler into a 500.
    response = probe_client.post("/probe/reserved-extras")
    assert response.status_code == 409
    body = response.json()
    assert (body["status"], body["code"], body["title"], body["detail"]) == (
        409,
        "conflict",
        "Conflict",
        "Order is paid",
    )
