"""Ask every eligible institution for a quote at once, with a deadline.

Runs outside any database transaction. Calls go to a shared thread pool; we wait until all answer or
the deadline passes, whichever comes first. A slow, hanging or failing institution never delays the
others beyond the deadline: its late answer is dropped (its thread finishes on its own; the pool is
sized so that a few hanging institutions do not starve the rest).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

log = logging.getLogger("gateway.broker.fanout")
DEFAULT_DEADLINE_S: Final = 3.0
_POOL: Final = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="quote-fanout")

T = TypeVar("T")


@dataclass
class FanOutResult(Generic[T]):
    answers: dict[str, T] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    timed_out: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


def fan_out(calls: Mapping[str, Callable[[], T]], deadline_s: float = DEFAULT_DEADLINE_S) -> FanOutResult[T]:
    started = time.perf_counter()
    result: FanOutResult[T] = FanOutResult()
    futures = {_POOL.submit(call): key for key, call in calls.items()}
    done, not_done = concurrent.futures.wait(futures, timeout=deadline_s)
    for future in done:
        key = futures[future]
        try:
            result.answers[key] = future.result()
        except Exception as exc:  # noqa: BLE001 - an institution's failure is data here, never ours
            log.warning("quote call failed", extra={"institution": key, "error": type(exc).__name__})
            result.failed[key] = f"{type(exc).__name__}: {exc}"
    for future in not_done:
        future.cancel()
        result.timed_out.append(futures[future])
    result.elapsed_s = time.perf_counter() - started
    return result
