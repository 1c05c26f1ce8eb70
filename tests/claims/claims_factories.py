"""Factories for claim and verification tests: a gateway on a settable clock, a market with a fixed
timeline inside the calendar's covered years, guarantees issued through the broker's own workflow,
and SM2-signed requests for centers and institutions."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from contracts.enums import Product
from gateway.app import create_app
from gateway.audit.tables import AuditRecord
from gateway.broker.tables import Application, Offer
from gateway.broker.workflow import Broker
from gateway.claims.tables import Claim
from gateway.composition import Container, build_container
from gateway.demo.seed import sandbox_record
from gateway.institutions import repository as institutions
from gateway.outbox.tables import OutboxEvent
from gateway.sections import repository as sections
from gateway.settings import Settings
from signing.http_signature import sign_request
from signing.sm2 import Sm2PrivateKey
from tests.broker.broker_factories import CENTER, bidder_uscc, sandbox, section_descriptor
from tests.system_auth.test_signed_requests import register

OTHER_CENTER = "OTHER-CENTER"
BANK = "SBX-BANK"
# Bids open on Friday 2026-09-25 09:30 Shanghai; the 90-day cover runs 2026-09-25 .. 2026-12-24.
OPENING = datetime(2026, 9, 25, 1, 30, tzinfo=UTC)
BEFORE_DEADLINE = OPENING - timedelta(days=5)
# Tuesday 2026-09-29 10:00 Shanghai: 5 business days later is Monday 2026-10-12 (the National Day
# holiday 10-01..10-07, then Saturday 10-10 is a make-up working day).
CLAIM_DAY = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)
_counter = itertools.count(1)


class Clock:
    """The gateway's clock, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Gateway:
    container: Container
    clock: Clock
    client: TestClient
    center_key: Sm2PrivateKey
    other_center_key: Sm2PrivateKey
    section: str

    def center_headers(
        self, method: str, path: str, body: bytes = b"", *, key: Sm2PrivateKey | None = None
    ) -> dict[str, str]:
        key_id = "other-center-1" if key is self.other_center_key else "center-1"
        return _signed(key or self.center_key, key_id, method, path, body, self.clock)

    def institution_headers(self, code: str, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        party = next(p for p in self.container.sandbox_parties if p.code == code)
        key = Sm2PrivateKey.from_pem(party.private_key_pem.encode())
        return _signed(key, party.key_id, method, path, body, self.clock)

    def file_claim(
        self, guarantee_no: str, amount_fen: int, reason: str = "中标后无正当理由拒签合同", **kw: Any
    ) -> Any:
        body = json.dumps({"guarantee_no": guarantee_no, "amount_fen": amount_fen, "reason": reason}).encode()
        path = "/center/v1/claims"
        return self.client.post(path, content=body, headers=self.center_headers("POST", path, body, **kw))

    def get_claim(self, claim_id: str) -> Any:
        path = f"/center/v1/claims/{claim_id}"
        return self.client.get(path, headers=self.center_headers("GET", path))

    def list_claims(self, status: str) -> Any:
        path = f"/center/v1/claims?status={status}"
        return self.client.get(path, headers=self.center_headers("GET", path))

    def decide(
        self, claim_id: str, outcome: str, reason: str | None = None, *, institution: str = BANK
    ) -> Any:
        payload: dict[str, Any] = {"outcome": outcome}
        if reason is not None:
            payload["reason"] = reason
        body = json.dumps(payload, ensure_ascii=False).encode()
        path = f"/partner/v1/claims/{claim_id}/decision"
        return self.client.post(
            path, content=body, headers=self.institution_headers(institution, "POST", path, body)
        )


def _signed(
    key: Sm2PrivateKey, key_id: str, method: str, path: str, body: bytes, clock: Clock
) -> dict[str, str]:
    timestamp = int(clock().timestamp())
    return {
        "Authorization": sign_request(key, key_id, method, path, body, timestamp=timestamp),
        "Idempotency-Key": f"k-{next(_counter)}-{timestamp}",
        "Content-Type": "application/json",
    }


def start_gateway(settings: Settings, *, at: datetime = BEFORE_DEADLINE) -> Iterator[Gateway]:
    """A gateway whose every part (broker, auth, claims, sandbox institutions) reads one settable clock,
    with a center, a section opening at OPENING, the sandbox institutions and everyone's keys."""
    clock = Clock(at)
    container = build_container(settings, clock=clock)
    for adapter in container.institutions.values():
        sandbox(adapter).clock = clock
    center_key, other_key = Sm2PrivateKey.generate(), Sm2PrivateKey.generate()
    code = f"S-CL-{next(_counter):04d}"
    with container.sessions() as session, session.begin():
        for center in (CENTER, OTHER_CENTER):
            sections.upsert_center(session, code=center, name=f"{center} 交易中心", now=at)
        sections.upsert_section(session, section_descriptor(code, deadline=OPENING), now=at)
        for party in container.sandbox_parties:
            institutions.upsert(session, sandbox_record(party, [CENTER]), now=at)
            key = Sm2PrivateKey.from_pem(party.private_key_pem.encode())
            register(session, key, party.key_id, kind="institution", code=party.code)
        register(session, center_key, "center-1", kind="center", code=CENTER)
        register(session, other_key, "other-center-1", kind="center", code=OTHER_CENTER)
    try:
        with TestClient(create_app(container), raise_server_exceptions=False) as client:
            yield Gateway(container, clock, client, center_key, other_key, code)
    finally:
        container.close()


def issue_guarantee(gateway: Gateway, *, bidder: int | None = None, institution: str = BANK) -> str:
    """A guarantee issued through the broker's workflow (quote, accept, pay, issue, letter)."""
    container = gateway.container
    uscc = bidder_uscc(bidder if bidder is not None else next(_counter) + 100)
    broker = Broker.from_container(container)
    application_id = broker.apply(
        bidder=uscc,
        bidder_name=f"投标人{uscc[-4:]}有限公司",
        section_code=gateway.section,
        product=Product.BID,
    )
    with container.sessions() as session:
        offer = session.scalars(
            select(Offer).where(Offer.application_id == application_id, Offer.institution_code == institution)
        ).one()
        offer_id = offer.id
    broker.accept(bidder=uscc, application_id=application_id, offer_id=offer_id)
    broker.pay(bidder=uscc, application_id=application_id, method="sandbox")
    with container.sessions() as session:
        app = session.get(Application, application_id)
        assert app is not None
        assert app.status == "issued", app.status
        assert app.guarantee_no is not None
        return app.guarantee_no


def status_of(container: Container, guarantee_no: str) -> str:
    with container.sessions() as session:
        app = session.scalars(select(Application).where(Application.guarantee_no == guarantee_no)).one()
        return app.status


def counts(container: Container) -> dict[str, int]:
    """Rows that any change would add: claims, events, audit records."""
    with container.sessions() as session:
        return {
            "claims": session.scalar(select(func.count()).select_from(Claim)) or 0,
            "events": session.scalar(select(func.count()).select_from(OutboxEvent)) or 0,
            "audit": session.scalar(select(func.count()).select_from(AuditRecord)) or 0,
        }


def events_of(container: Container, type_: str) -> list[OutboxEvent]:
    with container.sessions() as session:
        return list(session.scalars(select(OutboxEvent).where(OutboxEvent.type == type_)).all())
