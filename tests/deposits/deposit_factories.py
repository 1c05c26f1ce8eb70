"""Deposit test parts: a settable clock, a center with an escrow account and sections, the escrow
bank's signing key, bidder and finance tokens, signed bank requests."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.escrow.sandbox import SandboxEscrowBank
from contracts.descriptors import SectionDescriptor
from contracts.uscc import make_uscc
from gateway.app import create_app
from gateway.auth.tokens import Role, issue_token
from gateway.composition import Container
from gateway.deposits import service
from gateway.sections import repository as sections
from gateway.system_auth.service import register_key
from signing.http_signature import sign_request
from signing.sm2 import Sm2PrivateKey

CENTER = "DEP-CENTER"
OTHER_CENTER = "DEP-OTHER"
BANK = "DEP-ESCROW"
OTHER_BANK = "DEP-ESCROW-2"
PREFIX = "6217"
YUAN = 100
DEPOSIT = 80_000 * YUAN
TENDEREE = str(make_uscc("12440300MB2TEMT01"))
_counter = itertools.count(1)


class Clock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 Shanghai

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def bidder(n: int) -> tuple[str, str]:
    return str(make_uscc(f"91440300MA5D{n:05d}")), f"深圳市测试{n}号建设工程有限公司"


def section_descriptor(code: str, center: str, *, deadline: datetime, deposit_fen: int) -> SectionDescriptor:
    return SectionDescriptor.model_validate(
        {
            "code": code,
            "project_code": "TP-1",
            "project_name": "测试项目",
            "name": f"测试标段 {code}",
            "center_code": center,
            "tenderee_name": "测试招标人有限公司",
            "tenderee_uscc": TENDEREE,
            "deposit_fen": deposit_fen,
            "bid_deadline_at": deadline,
            "bid_opening_at": deadline,
            "bid_validity_days": 90,
        }
    )


@dataclass(repr=False)
class World:
    container: Container
    client: TestClient
    clock: Clock
    bank_key: Sm2PrivateKey
    other_bank_key: Sm2PrivateKey
    sections: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"World(sections={self.sections})"

    @property
    def bank(self) -> SandboxEscrowBank:
        assert isinstance(self.container.escrow_bank, SandboxEscrowBank)
        return self.container.escrow_bank

    def add_section(
        self, *, center: str = CENTER, deadline_in: timedelta = timedelta(days=7), deposit_fen: int = DEPOSIT
    ) -> str:
        code = f"DS-{next(_counter):04d}"
        with self.container.sessions() as session, session.begin():
            sections.upsert_section(
                session,
                section_descriptor(
                    code, center, deadline=self.clock() + deadline_in, deposit_fen=deposit_fen
                ),
                now=self.clock(),
            )
        self.sections.append(code)
        return code

    def bidder_headers(self, n: int) -> dict[str, str]:
        uscc, name = bidder(n)
        token = issue_token(
            self.container.token_key, Role.BIDDER, uscc, now=self.clock(), ttl=timedelta(days=60), name=name
        )
        return {"Authorization": f"Bearer {token}"}

    def finance_headers(self, center: str = CENTER) -> dict[str, str]:
        token = issue_token(
            self.container.token_key, Role.FINANCE, center, now=self.clock(), ttl=timedelta(days=60)
        )
        return {"Authorization": f"Bearer {token}"}

    def subaccount(self, section: str, n: int) -> str:
        response = self.client.get(f"/v1/sections/{section}/deposit-account", headers=self.bidder_headers(n))
        assert response.status_code == 200, response.text
        number: str = response.json()["subaccount"]
        return number

    def bank_post(
        self, path: str, payload: dict[str, Any], *, other: bool = False, key: str | None = None
    ) -> Any:
        body = json.dumps(payload).encode()
        signer, key_id = (self.other_bank_key, "dep-escrow-2-1") if other else (self.bank_key, "dep-escrow-1")
        headers = {
            "Authorization": sign_request(
                signer, key_id, "POST", path, body, timestamp=int(self.clock().timestamp())
            ),
            "Idempotency-Key": key or f"bank-{next(_counter)}",
            "Content-Type": "application/json",
        }
        return self.client.post(path, content=body, headers=headers)

    def notice(self, section: str, n: int, **overrides: Any) -> Any:
        _uscc, name = bidder(n)
        payload: dict[str, Any] = {
            "bank_reference": f"BR{next(_counter):08d}",
            "subaccount": self.subaccount(section, n),
            "amount_fen": DEPOSIT,
            "payer_name": name,
            "payer_account": f"4000{n:012d}",
            "value_date": self.clock().astimezone(UTC).date().isoformat(),
        }
        payload.update(overrides)
        return self.bank_post("/bank/v1/deposit-notices", payload)

    def finance_post(self, path: str, payload: dict[str, Any], center: str = CENTER) -> Any:
        return self.client.post(path, json=payload, headers=self.finance_headers(center))

    def finance_get(self, path: str, center: str = CENTER, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.finance_headers(center))


def build_world(container: Container) -> Iterator[World]:
    clock = Clock()
    container.clock = clock
    bank_key, other_key = Sm2PrivateKey.generate(), Sm2PrivateKey.generate()
    with container.sessions() as session, session.begin():
        for center, bank, key, key_id, prefix in (
            (CENTER, BANK, bank_key, "dep-escrow-1", PREFIX),
            (OTHER_CENTER, OTHER_BANK, other_key, "dep-escrow-2-1", "6218"),
        ):
            sections.upsert_center(session, code=center, name=f"{center} 交易中心", now=clock())
            service.register_escrow_account(
                session,
                center_code=center,
                bank_code=bank,
                bank_name="测试银行深圳分行",
                account_no=f"7551{prefix}000001",
                account_name=f"{center} 投标保证金专户",
                subaccount_prefix=prefix,
            )
            register_key(
                session,
                party_kind="bank",
                party_code=bank,
                key_id=key_id,
                public_key_pem=key.public_key().to_pem().decode(),
                now=clock(),
                actor="admin:test",
            )
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield World(container, client, clock, bank_key, other_key)


@pytest.fixture
def world(container: Container) -> Iterator[World]:
    yield from build_world(container)


def today(world: World) -> date:
    from gateway.deposits.rules import local_date

    return local_date(world.clock())
