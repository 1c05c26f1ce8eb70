"""A token bucket per client address, in this process's memory.

Each address has a bucket of `burst` tokens that refills at `per_minute / 60` tokens a second; a
request takes one token or is refused with the seconds until one is back (Retry-After). The table is
bounded (least recently seen addresses are forgotten first), so a flood of addresses cannot grow it
without limit; a forgotten address simply starts again with a full bucket.

Per process, deliberately: N gateway processes allow N times the rate. Public verification is a
brute-force brake, not a quota; a shared limit belongs in front of the gateway (the reverse proxy) or
in a shared store once there is one.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucketLimiter:
    def __init__(
        self,
        *,
        per_minute: int,
        burst: int,
        max_clients: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1 or burst < 1 or max_clients < 1:
            raise ValueError("per_minute, burst and max_clients must be at least 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = burst
        self.max_clients = max_clients
        self.monotonic = monotonic
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> int:
        """0 when the request may go ahead (a token is taken), else the whole seconds to wait."""
        now = self.monotonic()
        with self._lock:
            bucket = self._buckets.pop(client, None)
            if bucket is None:
                bucket = _Bucket(tokens=float(self.burst), at=now)
            else:
                bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
                bucket.at = now
            self._buckets[client] = bucket  # most recently seen last
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
