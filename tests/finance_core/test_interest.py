"""Deposit interest: actual/360, value date inclusive, refund date exclusive, one half-up rounding."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.finance.interest import (
    DEFAULT_RATE_TABLE,
    InterestError,
    RateTable,
    exact_interest,
    interest_fen,
    round_half_up,
)

FLAT = RateTable.of([(date(2020, 1, 1), 3500)])
principals = st.integers(min_value=0, max_value=10**12)
starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1))
days = st.integers(min_value=0, max_value=3 * 366)


def test_half_a_million_yuan_for_30_days_at_0_35_percent() -> None:
    # 50,000,000 fen × 0.0035 × 30 / 360 = 14,583.33… fen
    start = date(2025, 3, 1)
    assert exact_interest(500_000_00, start, start + timedelta(days=30), FLAT) == Fraction(43750, 3)
    assert interest_fen(500_000_00, start, start + timedelta(days=30), FLAT) == 14583


def test_the_default_table_is_the_pboc_demand_rate() -> None:
    assert DEFAULT_RATE_TABLE.rate_on(date(2025, 6, 1)) == 3500
    assert interest_fen(500_000_00, date(2025, 3, 1), date(2025, 3, 31)) == 14583


def test_the_value_date_earns_and_the_refund_date_does_not() -> None:
    # One day: 36,000,000 fen × 0.0035 / 360 = 350 fen exactly.
    assert interest_fen(360_000_00, date(2025, 5, 6), date(2025, 5, 7), FLAT) == 350
    assert interest_fen(360_000_00, date(2025, 5, 6), date(2025, 5, 6), FLAT) == 0


def test_a_rate_change_in_the_middle_splits_the_days() -> None:
    table = RateTable.of([(date(2024, 1, 1), 3500), (date(2024, 10, 18), 1000)])
    # 10 days at 0.35% (8..17 Oct) then 20 days at 0.10% (18 Oct..6 Nov), on ¥1,000,000.00:
    # 100,000,000 × (3500×10 + 1000×20) / (10^6 × 360) = 15,277.77… → 15,278 fen
    assert exact_interest(100_000_000, date(2024, 10, 8), date(2024, 11, 7), table) == Fraction(
        100_000_000 * 55_000, 360_000_000
    )
    assert interest_fen(100_000_000, date(2024, 10, 8), date(2024, 11, 7), table) == 15278


def test_the_rate_change_day_itself_earns_the_new_rate() -> None:
    table = RateTable.of([(date(2024, 1, 1), 3600), (date(2024, 10, 18), 0)])
    assert interest_fen(100_000_000, date(2024, 10, 17), date(2024, 10, 18), table) == 1000
    assert interest_fen(100_000_000, date(2024, 10, 18), date(2024, 10, 19), table) == 0


def test_rounding_is_half_up_on_the_exact_amount_once() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(249, 100)) == 2
    assert round_half_up(Fraction(-5, 2)) == -3
    # 1 day on 5,143 fen at 0.35%: 0.05000… fen → 0; 1 day on 180 fen at 100%: exactly ½ fen → 1.
    assert interest_fen(5143, date(2025, 1, 1), date(2025, 1, 2), FLAT) == 0
    table = RateTable.of([(date(2025, 1, 1), 1_000_000)])
    assert exact_interest(180, date(2025, 1, 1), date(2025, 1, 2), table) == Fraction(1, 2)
    assert interest_fen(180, date(2025, 1, 1), date(2025, 1, 2), table) == 1


@pytest.mark.parametrize(
    ("principal", "start", "end"),
    [
        (-1, date(2025, 1, 1), date(2025, 1, 2)),
        (100, date(2025, 1, 2), date(2025, 1, 1)),
        (100, date(2019, 12, 31), date(2020, 1, 5)),  # before the table's first rate
    ],
)
def test_impossible_periods_are_refused(principal: int, start: date, end: date) -> None:
    with pytest.raises(InterestError) as raised:
        interest_fen(principal, start, end, FLAT)
    assert raised.value.code == "invalid_interest_period"


@pytest.mark.parametrize(
    "rates",
    [[], [(date(2024, 1, 1), -1)], [(date(2024, 1, 1), 1), (date(2024, 1, 1), 2)]],
)
def test_malformed_rate_tables_are_refused(rates: list[tuple[date, int]]) -> None:
    with pytest.raises(InterestError):
        RateTable.of(rates)


@given(principals, starts, days, days)
def test_more_days_never_earn_less(principal: int, start: date, first: int, extra: int) -> None:
    shorter = interest_fen(principal, start, start + timedelta(days=first), FLAT)
    assert shorter <= interest_fen(principal, start, start + timedelta(days=first + extra), FLAT)


@given(principals, principals, starts, days)
def test_a_larger_principal_never_earns_less(small: int, extra: int, start: date, length: int) -> None:
    end = start + timedelta(days=length)
    assert interest_fen(small, start, end, FLAT) <= interest_fen(small + extra, start, end, FLAT)


@given(principals, starts, days, days)
def test_splitting_a_period_changes_the_total_by_at_most_one_fen(
    principal: int, start: date, first: int, second: int
) -> None:
    middle = start + timedelta(days=first)
    end = middle + timedelta(days=second)
    parts = interest_fen(principal, start, middle, FLAT) + interest_fen(principal, middle, end, FLAT)
    assert abs(parts - interest_fen(principal, start, end, FLAT)) <= 1
    exact_parts = [exact_interest(principal, *period, FLAT) for period in ((start, middle), (middle, end))]
    assert sum(exact_parts) == exact_interest(principal, start, end, FLAT)


@given(principals, starts, days, st.integers(0, 3 * 366), st.integers(0, 50_000), st.integers(0, 50_000))
def test_a_rate_change_splits_exactly(
    principal: int, start: date, length: int, change_after: int, before: int, after: int
) -> None:
    change = start + timedelta(days=change_after)
    rates = [(start, before), (change, after)] if change_after else [(start, after)]
    table = RateTable.of(rates)
    end = start + timedelta(days=length)
    days_before = min(change_after, length)
    expected = Fraction(principal * (before * days_before + after * (length - days_before)), 10**6 * 360)
    assert exact_interest(principal, start, end, table) == expected
