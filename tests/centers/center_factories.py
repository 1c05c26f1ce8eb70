"""Helpers for center-API tests: a center (and institutions) with registered SM2 request keys,
signed JSON requests, and guarantees bought through the bidder API."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from contracts.uscc import make_uscc
from gateway.composition import Container
from gateway.db import utcnow
from gateway.demo.seed import sandbox_record
from gateway.institutions import repository as institutions
from gateway.system_auth.service import register_key
from signing.http_signature import sign_request
from signing.sm2 import Sm2PrivateKey
from tests.broker.broker_factories import CENTER, YUAN, body, headers, sandbox

TENDEREE = str(make_uscc("12440300MB2TEMT01"))
_counter = itertools.count(1)


@dataclass(frozen=True)
class Party:
    kind: str
    code: str
    key: Sm2PrivateKey
    key_id: str


def register(container: Container, kind: str, code: str) -> Party:
    key = Sm2PrivateKey.generate()
    key_id = f"{code.lower()}-{next(_counter)}"
    with container.sessions() as session, session.begin():
        register_key(
            session,
            party_kind=kind,
            party_code=code,
            key_id=key_id,
            public_key_pem=key.public_key().to_pem().decode(),
            now=utcnow(),
            actor="admin:test",
        )
    return Party(kind, code, key, key_id)


def seed_institutions(container: Container, centers: tuple[str, ...] = (CENTER, "OTHER-CENTER")) -> None:
    now = datetime.now(UTC)
    with container.sessions() as session, session.begin():
        for party in container.sandbox_parties:
            institutions.upsert(session, sandbox_record(party, list(centers)), now=now)


def signed(client: TestClient, party: Party, method: str, path: str, payload: Any) -> Response:
    raw = json.dumps(payload, ensure_ascii=False).encode()
    authorization = sign_request(
        party.key, party.key_id, method, path, raw, timestamp=int(utcnow().timestamp())
    )
    request_headers = {
        "Authorization": authorization,
        "Content-Type": "application/json",
        "Idempotency-Key": f"c-{next(_counter)}",
    }
    response: Response = client.request(method, path, content=raw, headers=request_headers)
    return response


def section_body(
    *, deadline: datetime | None = None, opening: datetime | None = None, **overrides: Any
) -> dict[str, Any]:
    deadline = deadline or datetime.now(UTC) + timedelta(days=10)
    value: dict[str, Any] = {
        "project_code": "TP-7",
        "project_name": "中心接入测试项目",
        "name": "第一标段",
        "tenderee_name": "测试招标人有限公司",
        "tenderee_uscc": TENDEREE,
        "deposit_fen": 800_000 * YUAN,
        "bid_deadline_at": deadline.isoformat(),
        "bid_opening_at": (opening or deadline).isoformat(),
        "bid_validity_days": 90,
    }
    value.update(overrides)
    return value


def new_code() -> str:
    return f"CS-{next(_counter):04d}"


def buy(client: TestClient, container: Container, section: str, uscc: str, institution: str) -> str:
    """Apply, accept `institution`'s offer, pay: the guarantee number."""
    applied = client.post(
        "/v1/applications", json={"section_code": section}, headers=headers(container, uscc)
    )
    assert applied.status_code == 201, applied.text
    app = body(applied)
    offer = next(o for o in app["offers"] if o["institution"]["code"] == institution)
    accepted = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, uscc),
    )
    assert accepted.status_code == 200, accepted.text
    paid = client.post(
        f"/v1/applications/{app['id']}/payments", json={"method": "sandbox"}, headers=headers(container, uscc)
    )
    assert paid.status_code == 200, paid.text
    status = client.get(f"/v1/applications/{app['id']}", headers=headers(container, uscc))
    data = body(status)
    assert data["status"] == "issued", data
    guarantee_no = data["guarantee_no"]
    assert isinstance(guarantee_no, str)
    return guarantee_no


def quiet_letters(container: Container, render: bool = False) -> None:
    for adapter in container.institutions.values():
        sandbox(adapter).behaviour.render_letter = render
