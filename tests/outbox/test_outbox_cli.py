"""`gateway outbox drain|list|redeliver` against the test database, as a real process."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import update

from gateway.composition import Container
from gateway.db import transaction
from gateway.outbox.tables import OutboxDelivery
from gateway.settings import Settings
from tests.outbox.conftest import Receiver, emit_events, statuses, subscribe_center


def gateway(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": settings.resolved_database_url,
        "GATEWAY_DATA_DIR": str(settings.data_dir),  # the same gateway key as the container's
        "GATEWAY_TOKEN_SECRET": "test-token-secret",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", "outbox", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_drain_delivers_and_redeliver_recovers_dead_letters(
    container: Container, settings: Settings, receiver: Receiver
) -> None:
    receiver.start(fail_first=1)
    subscribe_center(container.sessions, receiver.url)
    events = emit_events(container.sessions, 3)

    drained = gateway(settings, "drain", "--until-empty", "--max-seconds", "60")
    assert drained.returncode == 0, drained.stderr
    assert "3 delivered" in drained.stdout
    assert "0 pending" in drained.stdout
    assert set(receiver.accepted()) == set(events)
    assert all(entry["signature_ok"] for entry in receiver.entries())

    with transaction(container.sessions) as session:
        session.execute(update(OutboxDelivery).values(status="dead", last_error="HTTP 500: down"))
    listed = gateway(settings, "list", "--status", "dead")
    assert listed.returncode == 0, listed.stderr
    assert sorted(line.split()[0] for line in listed.stdout.splitlines()) == sorted(events)

    one = gateway(settings, "redeliver", events[0])
    assert (one.returncode, one.stdout.strip()) == (0, "outbox redeliver: 1 deliveries pending again")
    rest = gateway(settings, "redeliver", "--all-dead")
    assert (rest.returncode, rest.stdout.strip()) == (0, "outbox redeliver: 2 deliveries pending again")
    assert statuses(container.sessions) == {"pending": 3}
    assert "3 delivered" in gateway(settings, "drain").stdout


def test_redeliver_refuses_bad_arguments(settings: Settings) -> None:
    neither = gateway(settings, "redeliver")
    assert neither.returncode == 2
    unknown = gateway(settings, "redeliver", "evt_missing")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "error: event_not_found: no event evt_missing"
