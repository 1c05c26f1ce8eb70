"""Systems authenticate with SM2 signatures over method, path, timestamp, nonce and body (interfaces.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.auth.caller import Caller
from gateway.auth.dependencies import require_role
from gateway.composition import Container, build_container
from gateway.db import utcnow
from gateway.settings import Settings
from gateway.system_auth.service import TooManyActiveKeys, register_key, retire_key
from signing.http_signature import sign_request, verify_response
from signing.sm2 import Sm2PrivateKey

PATH = "/probe/partner/applications?status=new"
BODY = json.dumps({"quote_fen": 80_000}).encode()


def probe_app(container: Container) -> FastAPI:
    router = APIRouter(prefix="/probe/partner", tags=["probe"])

    @router.post("/applications")
    def act(status: str, caller: Caller = Depends(require_role("institution"))) -> dict[str, str]:
        return {"caller": caller.key, "status": status}

    app = create_app(container)
    app.include_router(router)
    return app


def register(
    session: Session, key: Sm2PrivateKey, key_id: str, *, kind: str = "institution", code: str = "BANK1"
) -> None:
    register_key(
        session,
        party_kind=kind,
        party_code=code,
        key_id=key_id,
        public_key_pem=key.public_key().to_pem().decode(),
        now=utcnow(),
        actor="admin:test",
    )


@pytest.fixture
def bank_key() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


@pytest.fixture
def registered(container: Container, bank_key: Sm2PrivateKey) -> str:
    with container.sessions() as session, session.begin():
        register(session, bank_key, "bank1-2026")
    return "bank1-2026"


@pytest.fixture
def api(container: Container) -> Iterator[TestClient]:
    with TestClient(probe_app(container), raise_server_exceptions=False) as client:
        yield client


def signed(
    key: Sm2PrivateKey,
    key_id: str,
    *,
    body: bytes = BODY,
    path: str = PATH,
    skew_s: int = 0,
    nonce: str | None = None,
) -> dict[str, str]:
    timestamp = int(utcnow().timestamp()) + skew_s
    return {
        "Authorization": sign_request(key, key_id, "POST", path, body, timestamp=timestamp, nonce=nonce),
        "Idempotency-Key": f"k-{timestamp}-{nonce}",
        "Content-Type": "application/json",
    }


def test_signed_request_reaches_the_endpoint_as_the_party(
    api: TestClient, bank_key: Sm2PrivateKey, registered: str, container: Container
) -> None:
    response = api.post(PATH, content=BODY, headers=signed(bank_key, registered))
    assert response.status_code == 200, response.text
    assert response.json() == {"caller": "institution:BANK1", "status": "new"}
    # The gateway signs what it answers; the partner checks it with the gateway's public key.
    assert response.headers["gw-key-id"] == container.settings.gateway_key_id
    assert verify_response(
        container.signer.key.public_key(), dict(response.headers), "200", PATH, response.content
    )
    assert not verify_response(
        container.signer.key.public_key(), dict(response.headers), "200", PATH, response.content + b" "
    )


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("unknown_key", "unknown_key"),
        ("other_key", "bad_signature"),
        ("body_changed", "bad_signature"),
        ("path_changed", "bad_signature"),
        ("stale_past", "stale_timestamp"),
        ("stale_future", "stale_timestamp"),
        ("garbled", "malformed_authorization"),
    ],
)
def test_each_failure_has_its_precise_code(
    api: TestClient,
    bank_key: Sm2PrivateKey,
    registered: str,
    tamper: str,
    code: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = signed(bank_key, registered)
    body, path = BODY, PATH
    if tamper == "unknown_key":
        headers = signed(bank_key, "nobody-1")
    elif tamper == "other_key":
        headers = signed(Sm2PrivateKey.generate(), registered)
    elif tamper == "body_changed":
        body = BODY.replace(b"80000", b"8000")
    elif tamper == "path_changed":
        path = PATH.replace("new", "all")
    elif tamper == "stale_past":
        headers = signed(bank_key, registered, skew_s=-301)
    elif tamper == "stale_future":
        headers = signed(bank_key, registered, skew_s=301)
    elif tamper == "garbled":
        headers["Authorization"] = 'GW-SM2-SM3 key_id="x",timestamp="soon"'
    response = api.post(path, content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert "GW-SM2-SM3" in response.headers["www-authenticate"]
    assert any(getattr(record, "code", None) == code for record in caplog.records)


def test_a_timestamp_inside_the_window_is_accepted(
    api: TestClient, bank_key: Sm2PrivateKey, registered: str
) -> None:
    assert api.post(PATH, content=BODY, headers=signed(bank_key, registered, skew_s=-290)).status_code == 200


def test_replayed_nonce_is_refused(api: TestClient, bank_key: Sm2PrivateKey, registered: str) -> None:
    headers = signed(bank_key, registered)
    assert api.post(PATH, content=BODY, headers=headers).status_code == 200
    again = api.post(PATH, content=BODY, headers=headers)
    assert (again.status_code, again.json()["code"]) == (401, "replayed_nonce")


def test_replay_is_refused_by_a_second_gateway_process(
    settings: Settings, bank_key: Sm2PrivateKey, registered: str, api: TestClient
) -> None:
    # A second gateway with its own engine and pool, sharing only the database, as another process would.
    other = build_container(settings)
    try:
        with TestClient(probe_app(other), raise_server_exceptions=False) as second:
            headers = signed(bank_key, registered)
            assert api.post(PATH, content=BODY, headers=headers).status_code == 200
            replay = second.post(PATH, content=BODY, headers=headers)
            assert replay.json()["code"] == "replayed_nonce"
    finally:
        other.close()


def test_a_bad_signature_does_not_burn_the_nonce(
    api: TestClient, bank_key: Sm2PrivateKey, registered: str
) -> None:
    forged = signed(Sm2PrivateKey.generate(), registered, nonce="A" * 32)
    assert api.post(PATH, content=BODY, headers=forged).json()["code"] == "bad_signature"
    genuine = signed(bank_key, registered, nonce="A" * 32)
    assert api.post(PATH, content=BODY, headers=genuine).status_code == 200


def test_rotation_two_active_keys_then_retire(
    container: Container, api: TestClient, bank_key: Sm2PrivateKey, registered: str
) -> None:
    new_key = Sm2PrivateKey.generate()
    with container.sessions() as session, session.begin():
        register(session, new_key, "bank1-2027")
    assert api.post(PATH, content=BODY, headers=signed(bank_key, "bank1-2026")).status_code == 200
    assert api.post(PATH, content=BODY, headers=signed(new_key, "bank1-2027")).status_code == 200
    with container.sessions() as session, session.begin(), pytest.raises(TooManyActiveKeys):
        register(session, Sm2PrivateKey.generate(), "bank1-2028")
    with container.sessions() as session, session.begin():
        retire_key(session, "bank1-2026", now=utcnow(), actor="admin:test")
    old = api.post(PATH, content=BODY, headers=signed(bank_key, "bank1-2026"))
    assert (old.status_code, old.json()["code"]) == (401, "key_retired")
    assert api.post(PATH, content=BODY, headers=signed(new_key, "bank1-2027")).status_code == 200


def test_a_system_caller_cannot_use_bidder_endpoints(
    api: TestClient, bank_key: Sm2PrivateKey, registered: str, container: Container
) -> None:
    # Wrong role for the endpoint: authenticated, but forbidden.
    with container.sessions() as session, session.begin():
        register(session, bank_key, "center-1", kind="center", code="SZ")
    response = api.post(PATH, content=BODY, headers=signed(bank_key, "center-1"))
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_nonces_are_purged_after_twice_the_window(
    container: Container, api: TestClient, bank_key: Sm2PrivateKey, registered: str
) -> None:
    from gateway.system_auth.service import purge_nonces

    api.post(PATH, content=BODY, headers=signed(bank_key, registered))
    assert purge_nonces(container.sessions, utcnow()) == 0
    assert purge_nonces(container.sessions, utcnow() + timedelta(seconds=601)) == 1


def test_a_key_retired_by_another_process_is_refused_within_the_cache_time(
    container: Container,
    api: TestClient,
    bank_key: Sm2PrivateKey,
    registered: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Key rows are cached per process for KEY_CACHE_SECONDS; a retirement this process did not make
    (another gateway process, a DBA) is seen once the cached row runs out, never later."""
    from sqlalchemy import update

    from gateway.system_auth import service
    from gateway.system_auth.tables import SystemKey

    clock = [1_000.0]
    monkeypatch.setattr(service, "monotonic", lambda: clock[0])
    assert api.post(PATH, content=BODY, headers=signed(bank_key, registered)).status_code == 200
    with container.engine.begin() as connection:  # not through retire_key: no cache invalidation here
        connection.execute(update(SystemKey).where(SystemKey.key_id == registered).values(status="retired"))
    clock[0] += service.KEY_CACHE_SECONDS / 2
    assert api.post(PATH, content=BODY, headers=signed(bank_key, registered)).status_code == 200
    clock[0] += service.KEY_CACHE_SECONDS / 2 + 0.001
    late = api.post(PATH, content=BODY, headers=signed(bank_key, registered))
    assert (late.status_code, late.json()["code"]) == (401, "key_retired")


def test_cached_key_does_not_cache_nonces(api: TestClient, bank_key: Sm2PrivateKey, registered: str) -> None:
    headers = signed(bank_key, registered, nonce="B" * 32)
    assert api.post(PATH, content=BODY, headers=headers).status_code == 200
    again = api.post(PATH, content=BODY, headers=headers)  # the key row is cached now; the nonce is not
    assert (again.status_code, again.json()["code"]) == (401, "replayed_nonce")
