"""The per-institution circuit breaker as a pure state machine over a settable clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.banks.http.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(threshold: int = 3, cool_down: float = 10.0) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker(threshold, cool_down, clock=clock), clock


def test_opens_after_n_consecutive_failures_and_refuses_while_open() -> None:
    b, _ = breaker(threshold=3)
    for _ in range(2):
        b.record_failure()
        assert b.state is BreakerState.CLOSED
        assert b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    assert not b.allow()
    assert b.retry_after_s() == 10.0


def test_a_success_resets_the_consecutive_count() -> None:
    b, _ = breaker(threshold=3)
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_half_open_after_cool_down_lets_one_trial_through() -> None:
    b, clock = breaker(threshold=1, cool_down=10.0)
    b.record_failure()
    clock.now += 9.9
    assert not b.allow()
    clock.now += 0.1
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()  # the trial
    assert not b.allow()  # others wait for it


def test_a_successful_trial_closes_and_a_failed_one_reopens_for_a_full_cool_down() -> None:
    b, clock = breaker(threshold=2, cool_down=5.0)
    b.record_failure()
    b.record_failure()
    clock.now += 5.0
    assert b.allow()
    b.record_failure()
    assert b.retry_after_s() == 5.0  # open again, for a whole cool-down
    assert not b.allow()
    clock.now += 5.0
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.CLOSED
    assert b.allow()
    assert b.allow()


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(0, 1.0)
    with pytest.raises(ValueError, match="cool_down_s"):
        CircuitBreaker(1, -1.0)


@given(st.lists(st.sampled_from(["ok", "fail", "tick"]), max_size=60), st.integers(1, 5))
def test_never_open_unless_the_last_threshold_outcomes_failed(events: list[str], threshold: int) -> None:
    """Property: the breaker is open only right after `threshold` failures in a row (or a failed trial),
    and closed again after any success."""
    b, clock = breaker(threshold=threshold, cool_down=3.0)
    run = 0
    for event in events:
        if event == "tick":
            clock.now += 1.0
            continue
        if event == "ok":
            b.record_success()
            run = 0
            assert b.state is BreakerState.CLOSED
        else:
            before = b.state
            b.record_failure()
            run += 1
            if before is BreakerState.CLOSED and run < threshold:
                assert b.state is BreakerState.CLOSED
            if before is BreakerState.HALF_OPEN or (before is BreakerState.CLOSED and run == threshold):
                assert b.state is BreakerState.OPEN
                assert not b.allow()
