"""The retry schedule for webhook deliveries: capped exponential backoff with full jitter, for about
24 hours, then dead (a dead delivery waits for `redeliver`). Pure: the random draw is an argument.

After the n-th failed attempt the next one waits ``u * min(cap, base * 2**(n-1))`` seconds, with ``u``
uniform in [0, 1] ("full jitter": receivers that came back up are not hit by every gateway at once). A
failure at or after ``horizon`` seconds from the start of the cycle is the last one: the delivery is
dead. So the final attempt happens in [horizon, horizon + cap) after the start. ``max_attempts`` only
guards against a pathological run of tiny draws hammering a receiver; the expected number of attempts
with the defaults is about 55.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_EXPONENT = 60  # 2**60 seconds is already far beyond any cap


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 10.0
    cap_s: float = 3600.0
    horizon_s: float = 24 * 3600.0
    max_attempts: int = 200

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s <= self.horizon_s) or self.max_attempts < 1:
            raise ValueError("need 0 < base_s <= cap_s <= horizon_s and max_attempts >= 1")

    def ceiling_s(self, attempts: int) -> float:
        """The largest wait after `attempts` failed attempts (attempts >= 1)."""
        return min(self.cap_s, self.base_s * 2.0 ** min(max(attempts - 1, 0), MAX_EXPONENT))

    def delay_s(self, attempts: int, uniform: float) -> float:
        if not 0.0 <= uniform <= 1.0:
            raise ValueError("uniform must be in [0, 1]")
        return uniform * self.ceiling_s(attempts)

    def next_attempt_at(
        self, *, attempts: int, started_at: datetime, failed_at: datetime, uniform: float
    ) -> datetime | None:
        """When to try again after the `attempts`-th failure at `failed_at`, or None: dead."""
        if attempts >= self.max_attempts:
            return None
        if (failed_at - started_at).total_seconds() >= self.horizon_s:
            return None
        return failed_at + timedelta(seconds=self.delay_s(attempts, uniform))


DEFAULT_POLICY = RetryPolicy()
