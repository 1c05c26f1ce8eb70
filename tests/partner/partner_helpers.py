"""Helpers for the pull-mode partner tests: a pull institution (keys, certificate, registration) and
signed calls to the partner API through a TestClient or httpx."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from adapters.banks.sandbox.core import SandboxIdentity, load_or_create_identity
from contracts.enums import DecisionMode, InstitutionKind, IntegrationMode, Product
from gateway.broker.pricing import FlatRate
from gateway.composition import Container, wire_pull_institutions
from gateway.institutions import repository as institutions
from gateway.institutions.repository import InstitutionRecord
from signing.http_signature import sign_request
from signing.sm2 import Sm2PrivateKey
from tests.broker.broker_factories import CENTER
from tests.system_auth.test_signed_requests import register

PULL_CODE = "PULL-BANK"
PULL_NAME = "拉取模式示范银行股份有限公司"
RATE = FlatRate(rate_ppm=1_800, minimum_fen=30_000)  # 1.8‰: the cheapest, so it ranks first
_keys = itertools.count(1)


@dataclass(frozen=True)
class PullParty:
    code: str
    key_id: str
    identity: SandboxIdentity
    pki_dir: Path

    @property
    def key(self) -> Sm2PrivateKey:
        return self.identity.sm2_key

    def files(self) -> dict[str, Path]:
        """The files the pull client process reads (written by load_or_create_identity)."""
        return {
            "key": self.pki_dir / f"{self.code}.sm2.key.pem",
            "cert": self.pki_dir / f"{self.code}.sm2.pem",
            "pades_key": self.pki_dir / f"{self.code}.pades.key.pem",
            "pades_cert": self.pki_dir / f"{self.code}.pades.pem",
        }


def add_pull_institution(
    container: Container,
    pki_dir: Path,
    *,
    code: str = PULL_CODE,
    decision: DecisionMode = DecisionMode.REVIEW,
) -> PullParty:
    identity = load_or_create_identity(pki_dir, code, PULL_NAME)
    key_id = f"{code.lower()}-{next(_keys)}"
    now = datetime.now(UTC)
    record = InstitutionRecord(
        code=code, name=PULL_NAME, kind=InstitutionKind.BANK, products=(Product.BID,), fee_schedule=RATE,
        min_amount_fen=100_000, max_amount_fen=5_000_000_000, centers=(CENTER,), decision=decision,
        mode=IntegrationMode.PULL, key_id=key_id,
        certificate_pem=identity.sm2_certificate.to_pem().decode(), platform_fee_ppm=100_000, record=95,
    )  # fmt: skip
    with container.sessions() as session, session.begin():
        institutions.upsert(session, record, now=now)
        register(session, identity.sm2_key, key_id, code=code)
    wire_pull_institutions(container)
    return PullParty(code, key_id, identity, pki_dir)


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(
    key: Sm2PrivateKey,
    key_id: str,
    method: str,
    target: str,
    content: bytes,
    *,
    idempotency_key: str | None = None,
) -> dict[str, str]:
    headers = {
        "Authorization": sign_request(
            key, key_id, method, target, content, timestamp=int(datetime.now(UTC).timestamp())
        ),
        "Content-Type": "application/json",
    }
    if method == "POST":
        headers["Idempotency-Key"] = idempotency_key or f"k-{next(_keys)}-{datetime.now(UTC).timestamp()}"
    return headers


@dataclass
class PartnerApi:
    """The partner API as one institution, through a TestClient."""

    client: TestClient
    party: PullParty

    def get(self, target: str) -> Any:
        return self.client.get(
            target, headers=signed_headers(self.party.key, self.party.key_id, "GET", target, b"")
        )

    def post(self, target: str, body: Any) -> Any:
        content = encode(body)
        headers = signed_headers(self.party.key, self.party.key_id, "POST", target, content)
        return self.client.post(target, content=content, headers=headers)

    def listing(self, status: str | None = None) -> list[dict[str, Any]]:
        target = "/partner/v1/applications" + (f"?status={status}" if status else "")
        response = self.get(target)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data
