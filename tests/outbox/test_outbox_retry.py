"""The retry schedule: capped full jitter for about 24 h, then dead."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.outbox.retry import DEFAULT_POLICY, RetryPolicy

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DAY_S = 24 * 3600.0


def run_until_dead(policy: RetryPolicy, rng: random.Random) -> tuple[int, float]:
    """Fail every attempt: how many attempts were made, and when the last one failed (s after T0)."""
    now, attempts = T0, 0
    while True:
        attempts += 1
        retry_at = policy.next_attempt_at(
            attempts=attempts, started_at=T0, failed_at=now, uniform=rng.random()
        )
        if retry_at is None:
            return attempts, (now - T0).total_seconds()
        assert retry_at >= now
        now = retry_at


@given(attempts=st.integers(min_value=1, max_value=10_000), uniform=st.floats(min_value=0.0, max_value=1.0))
def test_every_wait_is_within_the_jitter_ceiling_and_the_cap(attempts: int, uniform: float) -> None:
    delay = DEFAULT_POLICY.delay_s(attempts, uniform)
    assert 0.0 <= delay <= DEFAULT_POLICY.ceiling_s(attempts) <= DEFAULT_POLICY.cap_s


@given(attempts=st.integers(min_value=1, max_value=200))
def test_ceilings_double_from_the_base_until_the_cap(attempts: int) -> None:
    ceiling = DEFAULT_POLICY.ceiling_s(attempts)
    assert ceiling == min(DEFAULT_POLICY.cap_s, DEFAULT_POLICY.base_s * 2 ** (attempts - 1))
    assert DEFAULT_POLICY.ceiling_s(attempts + 1) >= ceiling


def test_the_first_retry_comes_within_the_base_and_later_ones_within_an_hour() -> None:
    assert DEFAULT_POLICY.ceiling_s(1) == 10.0
    assert DEFAULT_POLICY.ceiling_s(20) == 3600.0
    assert DEFAULT_POLICY.delay_s(1, 1.0) == 10.0
    assert DEFAULT_POLICY.delay_s(30, 0.0) == 0.0  # full jitter: anywhere from zero


@given(seed=st.integers(min_value=0, max_value=2**32))
def test_a_receiver_that_never_answers_is_tried_for_about_a_day_then_dead(seed: int) -> None:
    attempts, last_failure_s = run_until_dead(DEFAULT_POLICY, random.Random(seed))
    assert DAY_S <= last_failure_s < DAY_S + DEFAULT_POLICY.cap_s
    assert 20 < attempts < DEFAULT_POLICY.max_attempts


@given(
    attempts=st.integers(min_value=1, max_value=199),
    elapsed_s=st.floats(min_value=0, max_value=3 * DAY_S),
    uniform=st.floats(min_value=0.0, max_value=1.0),
)
def test_a_failure_is_retried_exactly_while_inside_the_horizon(
    attempts: int, elapsed_s: float, uniform: float
) -> None:
    failed_at = T0 + timedelta(seconds=elapsed_s)
    retry_at = DEFAULT_POLICY.next_attempt_at(
        attempts=attempts, started_at=T0, failed_at=failed_at, uniform=uniform
    )
    if (failed_at - T0).total_seconds() >= DAY_S:
        assert retry_at is None
    else:
        assert retry_at is not None
        assert failed_at <= retry_at <= failed_at + timedelta(seconds=DEFAULT_POLICY.cap_s)


def test_the_attempt_limit_ends_a_run_of_tiny_draws() -> None:
    policy = RetryPolicy()
    retry_at = policy.next_attempt_at(attempts=policy.max_attempts, started_at=T0, failed_at=T0, uniform=0.5)
    assert retry_at is None


def test_the_expected_run_is_about_fifty_five_attempts() -> None:
    rng = random.Random(7)
    runs = [run_until_dead(DEFAULT_POLICY, rng)[0] for _ in range(200)]
    assert 45 < sum(runs) / len(runs) < 65


@pytest.mark.parametrize(
    ("base", "cap", "horizon", "max_attempts"),
    [(0, 10, 100, 5), (20, 10, 100, 5), (1, 200, 100, 5), (1, 10, 100, 0)],
)
def test_inconsistent_policies_are_refused(
    base: float, cap: float, horizon: float, max_attempts: int
) -> None:
    with pytest.raises(ValueError, match="base_s"):
        RetryPolicy(base_s=base, cap_s=cap, horizon_s=horizon, max_attempts=max_attempts)


def test_a_draw_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="uniform"):
        DEFAULT_POLICY.delay_s(1, 1.5)
