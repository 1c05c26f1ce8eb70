"""Push-mode fixtures: the reference partner server as a real process on 127.0.0.1, registered as a
push institution of an in-process gateway, and the checks every scenario ends with."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from contracts.enums import DecisionMode, InstitutionKind, IntegrationMode, Product
from gateway.app import create_app
from gateway.broker.pricing import FlatRate
from gateway.broker.reconciler import reconcile
from gateway.broker.tables import Application, Guarantee, Payment
from gateway.composition import Container, PushSettings, load_push_institutions
from gateway.institutions import repository as institutions
from gateway.sections import repository as sections
from ledger import Ledger
from tests.broker.broker_factories import CENTER, YUAN, body, headers, section_descriptor

REPO = Path(__file__).resolve().parents[2]
# Short enough that faults show within a test, long enough for a loaded 2-core machine.
FAST = PushSettings(
    connect_timeout_s=1.0,
    read_timeout_s=3.0,
    max_attempts=6,
    backoff_base_s=0.05,
    backoff_cap_s=0.3,
    retry_after_cap_s=1.0,  # "come back in a second" while the bank still works on a request
    breaker_failures=20,
    breaker_cool_down_s=2.0,
)
WAITING = {"accepted", "under_review", "paid"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Partner:
    """`gateway partner-sandbox serve` as a process."""

    port: int
    state_dir: Path
    process: subprocess.Popen[bytes]
    code: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def identity(self) -> dict[str, str]:
        data: dict[str, str] = json.loads((self.state_dir / "identity.json").read_text(encoding="utf-8"))
        return data

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.url}/sandbox/state", timeout=5).json()
        return data

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


class PartnerFactory:
    def __init__(self, container: Container, tmp_path: Path) -> None:
        self.container = container
        self.tmp_path = tmp_path
        self.started: list[Partner] = []
        self.key = tmp_path / "gateway-public.pem"
        self.key.write_bytes(container.signer.key.public_key().to_pem())

    def start(self, *args: str, code: str = "PUSH-BANK", port: int | None = None) -> Partner:
        """Starts a partner; with `port` of a stopped one, the same bank again (same keys, empty memory)."""
        port = port or free_port()
        state_dir = self.tmp_path / f"partner-{code}-{port}"
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "partner-sandbox", "serve", "--port", str(port),
             "--state-dir", str(state_dir), "--gateway-public-key", str(self.key), "--code", code, *args],
            cwd=REPO,
        )  # fmt: skip
        partner = Partner(port, state_dir, process, code)
        self.started.append(partner)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            except OSError:
                assert process.poll() is None, "the partner server exited"
                time.sleep(0.05)
            else:
                return partner
        raise AssertionError("the partner server did not start listening")

    def close(self) -> None:
        for partner in self.started:
            partner.stop()


@pytest.fixture
def partners(container: Container, tmp_path: Path) -> Iterator[PartnerFactory]:
    container.push_config = FAST
    factory = PartnerFactory(container, tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client


_sections = iter(range(1, 10_000))


def register(container: Container, partner: Partner, *, review: bool = False) -> str:
    """A center, an open section, and the partner as its only (push) institution. Returns the section."""
    now = datetime.now(UTC)
    identity = partner.identity()
    code = f"P-{next(_sections):04d}"
    with container.sessions() as session, session.begin():
        sections.upsert_center(session, code=CENTER, name="测试交易中心", now=now)
        sections.upsert_section(session, section_descriptor(code, deadline=now + timedelta(days=10)), now=now)
        institutions.upsert(
            session,
            institutions.InstitutionRecord(
                code=partner.code,
                name=identity["name"],
                kind=InstitutionKind.BANK,
                products=(Product.BID,),
                fee_schedule=FlatRate(rate_ppm=2_000, minimum_fen=300 * YUAN),
                min_amount_fen=1_000 * YUAN,
                max_amount_fen=50_000_000 * YUAN,
                centers=(CENTER,),
                decision=DecisionMode.REVIEW if review else DecisionMode.INSTANT,
                mode=IntegrationMode.PUSH,
                key_id=identity["key_id"],
                certificate_pem=identity["certificate_pem"],
                platform_fee_ppm=100_000,
                push_base_url=partner.url,
            ),
            now=now,
        )
    assert partner.code in load_push_institutions(container)
    return code


def apply(client: TestClient, container: Container, section: str, uscc: str) -> dict[str, Any]:
    response = client.post(
        "/v1/applications", json={"section_code": section}, headers=headers(container, uscc)
    )
    assert response.status_code == 201, response.text
    return dict(body(response))


def accept(client: TestClient, container: Container, app: dict[str, Any], uscc: str) -> str:
    [offer] = app["offers"]
    response = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": offer["offer_id"]},
        headers=headers(container, uscc),
    )
    assert response.status_code == 200, response.text
    return str(body(response)["status"])


def pay(client: TestClient, container: Container, application_id: str, uscc: str) -> str:
    response = client.post(
        f"/v1/applications/{application_id}/payments",
        json={"method": "sandbox"},
        headers=headers(container, uscc),
    )
    assert response.status_code == 200, response.text
    return str(body(response)["status"])


def status_of(container: Container, application_id: str) -> str:
    with container.sessions() as session:
        status = session.scalar(select(Application.status).where(Application.id == application_id))
    assert status is not None
    return status


def reconcile_until_settled(container: Container, rounds: int = 15) -> int:
    """Run the reconciler (no waiting limit) until no order waits on the institution."""
    for used in range(1, rounds + 1):
        reconcile(container, older_than=timedelta(0))
        with container.sessions() as session:
            left = session.scalars(select(Application.status).where(Application.status.in_(WAITING))).all()
        if not left:
            return used
        time.sleep(0.3)
    raise AssertionError(f"orders still waiting after {rounds} reconciler runs: {left}")


def assert_clean(container: Container, partner: Partner) -> None:
    """No guarantee issued twice, none stuck, no premium kept without a guarantee, ledger clean."""
    seen = partner.state()["applications"]
    assert all(record["issue_count"] <= 1 for record in seen.values()), seen
    guarantees = assert_issued_once_and_ledger_clean(container)
    for guarantee in guarantees:
        # the gateway holds exactly the guarantee the bank made for that application
        assert seen[guarantee.application_id]["guarantee_no"] == guarantee.guarantee_no


def assert_issued_once_and_ledger_clean(container: Container) -> list[Guarantee]:
    with container.sessions() as session:
        apps = {app.id: app for app in session.scalars(select(Application))}
        guarantees = list(session.scalars(select(Guarantee)))
        payments = list(session.scalars(select(Payment)))
    assert not [a.id for a in apps.values() if a.status in WAITING]
    assert len({g.application_id for g in guarantees}) == len(guarantees)
    for guarantee in guarantees:
        assert apps[guarantee.application_id].guarantee_no == guarantee.guarantee_no
    issued = {g.application_id for g in guarantees}
    for payment in payments:
        if payment.status == "succeeded":
            assert payment.application_id in issued, (
                f"premium kept without a guarantee: {payment.application_id}"
            )
        if payment.status == "refunded":
            assert apps[payment.application_id].status in {"rejected", "cancelled", "surrendered"}
    book = Ledger(container.engine)
    assert not book.check().violations
    clearing = book.balance("platform:premium_clearing") if payments else None
    if clearing is not None:
        assert clearing.debits_pending == clearing.credits_pending == 0  # no hold left open
    return guarantees
