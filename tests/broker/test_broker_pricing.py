"""Fee schedules in integer fen: domain.md's tiered example, flat with a minimum, the center cap."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.enums import DecisionMode
from gateway.broker.matching import AllocationPolicy, Candidate, allocate, rank
from gateway.broker.pricing import (
    DOMAIN_TIERED,
    FlatRate,
    OutsideSchedule,
    fee_fen,
    parse_schedule,
    price,
    schedule_json,
)

YUAN = 100


@pytest.mark.parametrize(
    ("amount_yuan", "premium_yuan"),
    [
        (10_000, 300),  # 1% = 100, below the ¥300 minimum
        (30_000, 300),
        (50_000, 500),
        (100_000, 1_000),
        (800_000, 1_000 + 5_600),  # 0.8% on the part above 100k
        (1_000_000, 1_000 + 7_200),
        (3_000_000, 8_200 + 12_000),  # 0.6% on the part above 1m
        (5_000_000, 8_200 + 24_000),
        (50_000_000, 32_200 + 180_000),  # 0.4% on the part above 5m
    ],
)
def test_domain_tiered_schedule_is_marginal(amount_yuan: int, premium_yuan: int) -> None:
    assert DOMAIN_TIERED.premium_fen(amount_yuan * YUAN) == premium_yuan * YUAN


def test_rounding_is_half_up_to_the_fen_once() -> None:
    flat = FlatRate(rate_ppm=2_000)
    assert flat.premium_fen(250) == 1  # 0.5 fen -> 1
    assert flat.premium_fen(249) == 0  # 0.498 -> 0
    assert flat.premium_fen(1_000_000_01) == 200_000  # 200000.002 -> 200000


def test_flat_rate_with_minimum() -> None:
    flat = FlatRate(rate_ppm=2_000, minimum_fen=300 * YUAN)
    assert flat.premium_fen(100_000 * YUAN) == 300 * YUAN
    assert flat.premium_fen(800_000 * YUAN) == 1_600 * YUAN


def test_center_cap_wins_even_over_the_minimum() -> None:
    assert price(DOMAIN_TIERED, 800_000 * YUAN, cap_ppm=3_000) == 2_400 * YUAN
    assert price(DOMAIN_TIERED, 50_000 * YUAN, cap_ppm=3_000) == 150 * YUAN
    assert price(DOMAIN_TIERED, 800_000 * YUAN, cap_ppm=None) == 6_600 * YUAN


def test_amounts_outside_the_schedule_are_refused() -> None:
    with pytest.raises(OutsideSchedule):
        DOMAIN_TIERED.premium_fen(50_000_001 * YUAN)
    with pytest.raises(OutsideSchedule):
        DOMAIN_TIERED.premium_fen(0)


def test_schedules_round_trip_through_json() -> None:
    assert parse_schedule(schedule_json(DOMAIN_TIERED)) == DOMAIN_TIERED
    assert parse_schedule({"type": "flat", "rate_ppm": 2000, "minimum_fen": 30000}) == FlatRate(
        rate_ppm=2000, minimum_fen=30000
    )
    with pytest.raises(ValueError, match=r"integer"):
        parse_schedule({"type": "flat", "rate_ppm": 0.002})


@given(st.integers(min_value=1, max_value=50_000_000 * YUAN))
def test_tiered_premium_is_monotonic_and_never_below_the_minimum(amount: int) -> None:
    premium = DOMAIN_TIERED.premium_fen(amount)
    assert premium >= 300 * YUAN
    assert DOMAIN_TIERED.premium_fen(min(amount + 1, 50_000_000 * YUAN)) >= premium


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=1_000_000))
def test_platform_fee_is_below_the_premium(premium: int, fee_ppm: int) -> None:
    assert 0 <= fee_fen(premium, fee_ppm) < premium


INSTANT, REVIEW = DecisionMode.INSTANT, DecisionMode.REVIEW


def test_rank_by_premium_then_instant_then_record() -> None:
    a = Candidate("A", 1000, REVIEW, record=9)
    b = Candidate("B", 1000, INSTANT, record=1)
    c = Candidate("C", 900, REVIEW, record=0)
    d = Candidate("D", 1000, INSTANT, record=5)
    assert [x.institution_code for x in rank([a, b, c, d])] == ["C", "D", "B", "A"]


def test_allocation_policies() -> None:
    offers = [Candidate("A", 1000, INSTANT), Candidate("B", 900, INSTANT), Candidate("C", 800, REVIEW)]
    assert [c.institution_code for c in allocate(AllocationPolicy.BIDDER_CHOICE, offers)] == ["C", "B", "A"]
    picks = [allocate(AllocationPolicy.ROUND_ROBIN, offers, cursor=i)[0].institution_code for i in range(4)]
    assert picks == ["A", "B", "C", "A"]
    least = allocate(AllocationPolicy.LEAST_LOADED, offers, loads={"A": 0, "B": 3, "C": 1})
    assert [c.institution_code for c in least] == ["A"]
    assert allocate(AllocationPolicy.ROUND_ROBIN, []) == []
