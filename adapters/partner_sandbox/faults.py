"""Configurable faults of the reference partner server, parsed from ``--fault name=value[@op,op]``.

| fault | value | effect |
|---|---|---|
| latency | seconds | sleep before handling (before committing) |
| error_rate | 0..1 | answer 503 before doing anything |
| timeout_rate | 0..1 | commit, then sleep `timeout_s` before answering (the caller times out) |
| timeout_s | seconds | how long a "timeout" sleeps (default 30) |
| drop_rate | 0..1 | commit, then drop the connection in the middle of the answer |
| duplicate_callbacks | count | send each decision callback this many extra times (new key each) |
| out_of_order_callbacks | 0/1 | send the review decision before answering the submission itself |
| seed | int | seed of the fault dice (reproducible runs) |

``@op,op`` limits a fault to some operations: quote, submit, decision, issue, guarantee, surrender,
claim, extend, outcome.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

OPERATIONS = frozenset(
    {"quote", "submit", "decision", "issue", "guarantee", "surrender", "claim", "extend", "outcome"}
)
_FLOATS = {"latency", "error_rate", "timeout_rate", "timeout_s", "drop_rate"}
_INTS = {"duplicate_callbacks", "out_of_order_callbacks", "seed"}


class FaultSyntaxError(ValueError):
    pass


@dataclass
class Faults:
    latency: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_s: float = 30.0
    drop_rate: float = 0.0
    duplicate_callbacks: int = 0
    out_of_order_callbacks: int = 0
    seed: int | None = None
    # fault name -> the operations it applies to (absent: all)
    scope: dict[str, frozenset[str]] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault dice, not secrets

    def applies(self, name: str, op: str) -> bool:
        ops = self.scope.get(name)
        return ops is None or op in ops

    def roll(self, name: str, op: str) -> bool:
        rate = float(getattr(self, name))
        if rate <= 0 or not self.applies(name, op):
            return False
        with self._lock:
            return self._rng.random() < rate

    def delay(self, op: str) -> float:
        return self.latency if self.applies("latency", op) else 0.0


def parse_faults(specs: list[str] | tuple[str, ...]) -> Faults:
    values: dict[str, float | int] = {}
    scope: dict[str, frozenset[str]] = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in _FLOATS | _INTS:
            raise FaultSyntaxError(f"unknown fault {spec!r}; known: {', '.join(sorted(_FLOATS | _INTS))}")
        text, at, ops_text = rest.partition("@")
        try:
            value: float | int = float(text) if name in _FLOATS else int(text)
        except ValueError as exc:
            raise FaultSyntaxError(f"{name} needs a number, got {text!r}") from exc
        if value < 0 or (name.endswith("_rate") and value > 1):
            raise FaultSyntaxError(f"{name}={text} is out of range")
        values[name] = value
        if at:
            ops = frozenset(op.strip() for op in ops_text.split(",") if op.strip())
            unknown = ops - OPERATIONS
            if unknown or not ops:
                raise FaultSyntaxError(f"unknown operation(s) {sorted(unknown)}; known: {sorted(OPERATIONS)}")
            scope[name] = ops
    return Faults(**values, scope=scope)  # type: ignore[arg-type]
