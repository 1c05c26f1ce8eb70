"""`gateway claims forward|decide|list` as a real process on the same database (both backends)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.institutions import Claim as ClaimMessage
from contracts.institutions import ClaimAck, InstitutionUnavailable
from gateway.settings import Settings
from tests.claims.claims_factories import BANK, CLAIM_DAY, Gateway, issue_guarantee, start_gateway, status_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    yield from start_gateway(settings)


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": str(settings.database_url),
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_TOKEN_SECRET": "test-token-secret",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", "claims", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


class Unreachable:
    def claim(self, request: ClaimMessage) -> ClaimAck:
        raise InstitutionUnavailable("timed out")


def test_cli_forwards_a_pending_claim_and_decides_it_for_the_sandbox_bank(
    gateway: Gateway, settings: Settings
) -> None:
    number = issue_guarantee(gateway)
    gateway.clock.now = CLAIM_DAY
    real = gateway.container.institutions[BANK]
    gateway.container.institutions[BANK] = Unreachable()  # type: ignore[assignment]
    claim = gateway.file_claim(number, 123_456).json()
    gateway.container.institutions[BANK] = real
    assert claim["forwarded_at"] is None

    forwarded = cli(settings, "forward")
    assert forwarded.returncode == 0, forwarded.stderr
    assert f"{claim['id']}: forwarded" in forwarded.stdout
    assert "1 forwarded, 0 to retry" in forwarded.stdout
    assert gateway.get_claim(claim["id"]).json()["forwarded_at"] is not None

    listed = cli(settings, "list", "--center", "TEST-CENTER")
    assert listed.returncode == 0, listed.stderr
    assert claim["id"] in listed.stdout
    assert "¥1,234.56" in listed.stdout

    no_reason = cli(settings, "decide", claim["id"], "--refuse")
    assert no_reason.returncode == 2
    assert "claim_reason_required" in no_reason.stderr
    unknown = cli(settings, "decide", "cl_nope", "--pay")
    assert unknown.returncode == 2
    assert "claim_not_found" in unknown.stderr

    paid = cli(settings, "decide", claim["id"], "--pay")
    assert paid.returncode == 0, paid.stderr
    assert f"{claim['id']}: paid by {BANK}" in paid.stdout
    assert gateway.get_claim(claim["id"]).json()["paid_amount_fen"] == 123_456
    assert status_of(gateway.container, number) == "claim_paid"
