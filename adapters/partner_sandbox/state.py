"""The reference partner's memory: applications it has seen, guarantees it has issued, and every
POST it committed, by Idempotency-Key. In memory, behind one lock: the server is one process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestRecord:
    fingerprint: str  # method, path and SM3 of the body: the same key with another body is refused
    state: str = "in_progress"  # in_progress | completed
    status: int = 0
    body: Any = None


@dataclass
class ApplicationRecord:
    application_id: str
    outcome: str  # approved | rejected | pending
    reason: str | None = None
    decide_at: float = 0.0  # monotonic time when a pending review becomes approved
    guarantee: dict[str, Any] | None = None  # IssuedGuarantee as JSON, without the letter
    letters: dict[str, str] = field(default_factory=dict)  # verification code -> letter (base64)
    issue_count: int = 0  # how many distinct guarantees were made for it (must stay <= 1)


@dataclass
class PartnerState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: dict[str, RequestRecord] = field(default_factory=dict)
    applications: dict[str, ApplicationRecord] = field(default_factory=dict)
    nonces: dict[str, float] = field(default_factory=dict)  # nonce -> expiry (monotonic)
    callbacks: list[dict[str, Any]] = field(default_factory=list)  # what we sent the gateway, and its answer

    def remember_nonce(self, nonce: str, window_s: float) -> bool:
        """False when the nonce was seen within the window (a replay)."""
        now = time.monotonic()
        with self.lock:
            if len(self.nonces) > 10_000:
                self.nonces = {n: t for n, t in self.nonces.items() if t > now}
            if self.nonces.get(nonce, 0.0) > now:
                return False
            self.nonces[nonce] = now + 2 * window_s
            return True
