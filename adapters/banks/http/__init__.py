"""Push mode: the gateway calls an institution's HTTP API (docs/partner-push.md)."""

from adapters.banks.http.breaker import BreakerState, CircuitBreaker
from adapters.banks.http.client import HttpInstitution, PushConfig

__all__ = ["BreakerState", "CircuitBreaker", "HttpInstitution", "PushConfig"]
