"""Pull mode with real processes on 127.0.0.1: a gateway (`python -m gateway serve`) and the pull client
playing the institution (`python -m adapters.partner_sandbox.pull_client`), a bidder over HTTP. And
replay across two gateway processes sharing one PostgreSQL database (PostgreSQL only: those tests are
not generated without it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.broker.tables import Application, Guarantee, Payment
from gateway.composition import Container
from gateway.settings import Settings
from signing.certificates import TrustStore
from signing.http_signature import sign_request, verify_response
from signing.letter import verify_letter
from tests.broker.broker_factories import Market, bidder_uscc, headers, seed_market
from tests.outbox.conftest import free_port
from tests.partner.partner_helpers import PULL_CODE, PullParty, add_pull_institution
from tests.system_auth.test_signed_requests import register

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
BIDDER = bidder_uscc(71)
REJECTED = bidder_uscc(72)


@dataclass
class Process:
    """A child process with its output in a file; stopped (and waited for) at the end of the test."""

    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]


def gateway(settings: Settings, tmp_path: Path, name: str) -> tuple[Process, str]:
    port = free_port()
    process = Process(
        [sys.executable, "-m", "gateway", "serve", "--listen", f"127.0.0.1:{port}"],
        tmp_path / f"{name}.log",
        {
            "GATEWAY_DATABASE_URL": settings.resolved_database_url,
            "GATEWAY_DATA_DIR": str(settings.data_dir),
            "GATEWAY_TOKEN_SECRET": "test-token-secret",
            "GATEWAY_LOG_LEVEL": "WARNING",
        },
    )
    process.start()
    base = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: _healthy(base, process), 30, f"{name} did not start: {process.log.read_text()[-2000:]}"
    )
    return process, base


def _healthy(base: str, process: Process) -> bool:
    assert process.process is not None
    assert process.process.poll() is None, process.log.read_text()[-2000:]
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(probe: Callable[[], Any], seconds: float, message: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(message)


@pytest.fixture
def market(container: Container) -> Market:
    return seed_market(container)


@pytest.fixture
def party(container: Container, market: Market, tmp_path: Path) -> PullParty:
    return add_pull_institution(container, tmp_path / "pull-pki")


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


def pull_client(base: str, party: PullParty, container: Container, tmp_path: Path) -> Process:
    files = party.files()
    gateway_pub = tmp_path / "gateway.pub.pem"
    gateway_pub.write_bytes(container.signer.key.public_key().to_pem())
    process = Process(
        [sys.executable, "-m", "adapters.partner_sandbox.pull_client", "--gateway-url", base,
         "--code", party.code, "--key-id", party.key_id, "--key-file", str(files["key"]),
         "--cert-file", str(files["cert"]),
         "--gateway-public-key", str(gateway_pub), "--pades-key-file", str(files["pades_key"]),
         "--pades-cert-file", str(files["pades_cert"]), "--reject-uscc", REJECTED, "--poll-interval", "0.1",
         "--max-seconds", "300"],
        tmp_path / "pull-client.log",
    )  # fmt: skip
    process.start()
    ready = lambda: any(line["action"] == "ready" for line in process.lines())  # noqa: E731
    wait_until(ready, 60, f"the pull client did not start: {process.log.read_text()[-2000:]}")
    return process


def bidder_call(
    http: httpx.Client, container: Container, uscc: str, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    response = http.request(method, path, json=body, headers=headers(container, uscc))
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


def status_becomes(
    http: httpx.Client, container: Container, uscc: str, application_id: str, wanted: str
) -> None:
    def probe() -> bool:
        current = bidder_call(http, container, uscc, "GET", f"/v1/applications/{application_id}")["status"]
        return bool(current == wanted)

    wait_until(probe, 30, f"{application_id} never became {wanted}")


def test_whole_life_in_pull_mode_across_processes(
    container: Container, settings: Settings, party: PullParty, market: Market, tmp_path: Path,
    processes: list[Process],
) -> None:  # fmt: skip
    server, base = gateway(settings, tmp_path, "gateway")
    processes.append(server)
    client = pull_client(base, party, container, tmp_path)
    processes.append(client)

    with httpx.Client(base_url=base, timeout=30) as http:
        # apply: the gateway waits (<= 3 s) for the institution's process to quote
        app = bidder_call(
            http, container, BIDDER, "POST", "/v1/applications", {"section_code": market.section}
        )
        offers = {o["institution"]["code"]: o for o in app["offers"]}
        assert offers[PULL_CODE]["premium_fen"] == 144_000  # 1.8‰ of ¥800,000, the schedule premium
        assert offers[PULL_CODE]["decision"] == "review"
        accepted = bidder_call(
            http, container, BIDDER, "POST", f"/v1/applications/{app['id']}/accept",
            {"offer_id": offers[PULL_CODE]["offer_id"]},
        )  # fmt: skip
        assert accepted["status"] in ("under_review", "awaiting_payment")
        status_becomes(http, container, BIDDER, app["id"], "awaiting_payment")  # the client approved
        paid = bidder_call(
            http, container, BIDDER, "POST", f"/v1/applications/{app['id']}/payments", {"method": "sandbox"}
        )
        assert paid["status"] in ("paid", "issued")
        status_becomes(http, container, BIDDER, app["id"], "issued")  # the client issued
        number = bidder_call(http, container, BIDDER, "GET", f"/v1/applications/{app['id']}")["guarantee_no"]
        letter = http.get(f"/v1/guarantees/{number}/letter.pdf", headers=headers(container, BIDDER))
        assert letter.status_code == 200
        trust = TrustStore.from_pem(party.identity.sm2_root.to_pem() + party.identity.pades_root_pem)
        verified = verify_letter(letter.content, trust)
        assert verified.ok, verified.checks
        assert verified.letter is not None
        assert verified.letter.guarantee_no == number

        # A bidder the institution rejects at review: never paid, nothing issued.
        other = bidder_call(
            http, container, REJECTED, "POST", "/v1/applications", {"section_code": market.section}
        )
        pull_offer = next(o for o in other["offers"] if o["institution"]["code"] == PULL_CODE)
        bidder_call(
            http, container, REJECTED, "POST", f"/v1/applications/{other['id']}/accept",
            {"offer_id": pull_offer["offer_id"]},
        )  # fmt: skip
        status_becomes(http, container, REJECTED, other["id"], "rejected")

    client.stop()
    actions = Counter((line["action"], line.get("status")) for line in client.lines())
    assert actions[("quote", 200)] == 2
    assert actions[("decision", 200)] == 2
    assert actions[("issuance", 200)] >= 1
    assert not [line for line in client.lines() if line["action"] == "error" and "Unsigned" in line["error"]]
    with container.sessions() as session:
        # No guarantee issued twice; no premium kept without a guarantee.
        per_app = Counter(session.scalars(select(Guarantee.application_id)))
        assert per_app == {app["id"]: 1}
        kept = session.scalars(select(Payment.application_id).where(Payment.status == "succeeded")).all()
        assert all(per_app[application_id] == 1 for application_id in kept)
        assert (
            session.scalar(
                select(func.count()).select_from(Payment).where(Payment.application_id == other["id"])
            )
            == 0
        )
        assert session.get(Application, other["id"]).status == "rejected"  # type: ignore[union-attr]


def _signed_get(party: PullParty, target: str) -> dict[str, str]:
    return {
        "Authorization": sign_request(party.key, party.key_id, "GET", target, b"", timestamp=int(time.time()))
    }


if POSTGRES_URL:

    @pytest.fixture
    def database_url(postgres_database_url: str) -> str:
        """Only PostgreSQL here: two gateway processes share it."""
        return postgres_database_url

    def test_a_request_accepted_by_one_gateway_process_is_a_replay_for_the_other(
        container: Container, settings: Settings, party: PullParty, tmp_path: Path, processes: list[Process]
    ) -> None:
        first, first_url = gateway(settings, tmp_path, "gateway-a")
        processes.append(first)
        second, second_url = gateway(settings, tmp_path, "gateway-b")
        processes.append(second)
        target = "/partner/v1/applications?status=quote_requested"
        signed = _signed_get(party, target)
        accepted = httpx.get(first_url + target, headers=signed)
        assert accepted.status_code == 200, accepted.text
        assert verify_response(
            container.signer.key.public_key(), dict(accepted.headers), "200", target, accepted.content
        )
        replayed = httpx.get(second_url + target, headers=signed)
        assert (replayed.status_code, replayed.json()["code"]) == (401, "replayed_nonce")
        # ... and the other way round, with a fresh request
        signed = _signed_get(party, target)
        assert httpx.get(second_url + target, headers=signed).status_code == 200
        assert httpx.get(first_url + target, headers=signed).json()["code"] == "replayed_nonce"

    def test_both_keys_are_live_on_both_processes_during_rotation(
        container: Container, settings: Settings, party: PullParty, tmp_path: Path, processes: list[Process]
    ) -> None:
        from dataclasses import replace

        from signing.sm2 import Sm2PrivateKey

        first, first_url = gateway(settings, tmp_path, "gateway-a")
        processes.append(first)
        second, second_url = gateway(settings, tmp_path, "gateway-b")
        processes.append(second)
        new_key = Sm2PrivateKey.generate()
        with container.sessions() as session, session.begin():
            register(session, new_key, "pull-bank-next", code=PULL_CODE)
        rotated = replace(party, key_id="pull-bank-next", identity=replace(party.identity, sm2_key=new_key))
        target = "/partner/v1/applications"
        for base in (first_url, second_url):
            for signer in (party, rotated):
                response = httpx.get(base + target, headers=_signed_get(signer, target))
                assert response.status_code == 200, (base, signer.key_id, response.text)
