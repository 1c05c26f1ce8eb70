"""A per-institution circuit breaker: a pure state machine over an injectable monotonic clock.

closed --(N consecutive failures)--> open --(cool-down elapsed)--> half-open
half-open --(one trial succeeds)--> closed;  half-open --(trial fails)--> open (cool-down again)

While open, callers are refused at once (`allow()` is False), so a dead institution costs a quote
fan-out nothing instead of a connect timeout per bidder. Half-open lets exactly one trial call
through; the others are refused until it reports. Thread-safe: fan-out calls run on a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    cool_down_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _state: BreakerState = field(default=BreakerState.CLOSED, init=False)
    _failures: int = field(default=0, init=False)
    _opened_at: float = field(default=0.0, init=False)
    _trial_running: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.cool_down_s < 0:
            raise ValueError("cool_down_s must not be negative")

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._maybe_half_open()
            return self._state

    def _maybe_half_open(self) -> None:
        if self._state is BreakerState.OPEN and self.clock() - self._opened_at >= self.cool_down_s:
            self._state, self._trial_running = BreakerState.HALF_OPEN, False

    def allow(self) -> bool:
        """May a call go out now? In half-open, True once (the trial) until it reports."""
        with self._lock:
            self._maybe_half_open()
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures, self._trial_running = BreakerState.CLOSED, 0, False

    def record_failure(self) -> None:
        with self._lock:
            self._maybe_half_open()
            if self._state is BreakerState.HALF_OPEN:
                self._open()
                return
            self._failures += 1
            if self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold:
                self._open()

    def _open(self) -> None:
        self._state, self._opened_at, self._trial_running = BreakerState.OPEN, self.clock(), False
        self._failures = 0

    def retry_after_s(self) -> float:
        """Seconds until an open breaker lets a trial through (0 when not open)."""
        with self._lock:
            self._maybe_half_open()
            if self._state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self.cool_down_s - (self.clock() - self._opened_at))
