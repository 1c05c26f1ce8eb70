"""Outbox fixtures: a settable clock, a real webhook receiver process on 127.0.0.1, a deliverer with
short timeouts, and helpers to emit events to a subscribed center."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.composition import Container
from gateway.db import transaction, utcnow
from gateway.outbox.delivery import Deliverer, DeliveryConfig
from gateway.outbox.service import emit, subscribe
from gateway.outbox.tables import OutboxDelivery

RECEIVER = Path(__file__).with_name("webhook_receiver.py")
CENTER = "CTR-1"
# Short timeouts so that a slow receiver times out quickly; batches smaller than the event counts.
FAST = DeliveryConfig(connect_timeout_s=1.0, read_timeout_s=0.5, batch_size=8)


class Clock:
    """Starts a minute ahead of the wall clock (so freshly emitted events are due) and moves on demand."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Receiver:
    """tests/outbox/webhook_receiver.py as a process; `entries` reads what it recorded."""

    port: int
    log: Path
    public_key: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/gateway?tenant=ctr-1"

    def start(self, *, fail_first: int = 0, slow_first: int = 0, slow_seconds: float = 0.0) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--port", str(self.port), "--log", str(self.log),
             "--public-key", str(self.public_key), "--fail-first", str(fail_first),
             "--slow-first", str(slow_first), "--slow-seconds", str(slow_seconds)]
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                assert self.process.poll() is None, "the receiver exited"
                time.sleep(0.05)
            else:
                return
        raise AssertionError("the receiver did not start listening")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def entries(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def accepted(self) -> Counter[str]:
        """How many times each event id was answered 200."""
        return Counter(e["event_id"] for e in self.entries() if e["status"] == 200)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver(container: Container, tmp_path: Path) -> Iterator[Receiver]:
    key = tmp_path / "gateway-public.pem"
    key.write_bytes(container.signer.key.public_key().to_pem())
    receiver = Receiver(port=free_port(), log=tmp_path / "received.jsonl", public_key=key)
    yield receiver
    receiver.stop()


@pytest.fixture
def deliverer(container: Container, clock: Clock) -> Iterator[Deliverer]:
    deliverer = Deliverer(container.sessions, container.signer, clock=clock, config=FAST)
    yield deliverer
    deliverer.close()


def subscribe_center(sessions: sessionmaker[Session], url: str, *types: str) -> str:
    with transaction(sessions) as session:
        return subscribe(
            session,
            party_kind="center",
            party_code=CENTER,
            url=url,
            event_types=types or ("*",),
            now=utcnow(),
            actor="admin:test",
        ).id


def emit_events(sessions: sessionmaker[Session], n: int, type: str = "guarantee.issued") -> list[str]:  # noqa: A002
    with transaction(sessions) as session:
        events = [emit(session, type, {"guarantee_no": f"G{i:04d}", "center_code": CENTER}) for i in range(n)]
    return [event.event_id for event in events]


def statuses(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        return Counter(session.scalars(select(OutboxDelivery.status)))
