"""Who is calling: set on the ASGI scope by the authentication middleware, read by idempotency
(keys are scoped per caller) and by endpoint dependencies (object-level authorization)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Scope


@dataclass(frozen=True)
class Caller:
    kind: str  # bidder | finance | admin | institution | center | bank
    subject: str  # a USCC, a center code, an institution code ...
    name: str | None = None  # registered name, when the credential asserts one

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"


def caller_of(scope: Scope) -> Caller | None:
    caller = scope.get("state", {}).get("caller")
    return caller if isinstance(caller, Caller) else None


def set_caller(scope: Scope, caller: Caller) -> None:
    scope.setdefault("state", {})["caller"] = caller
