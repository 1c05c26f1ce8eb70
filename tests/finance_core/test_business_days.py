"""Business days on the State Council calendar: known notices, the counting convention, invariants."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.calendars.business_days import BusinessCalendar, CalendarDataError, CalendarNotCovered

CALENDAR = BusinessCalendar.load()
covered_dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))


def test_the_packaged_data_covers_2024_to_2026_from_the_notices() -> None:
    assert CALENDAR.covered_years == {2024, 2025, 2026}
    for year, source in CALENDAR.sources.items():
        assert f"国务院办公厅关于{year}年部分节假日安排的通知" in source.source
        assert source.verified


@pytest.mark.parametrize(
    ("year", "holiday_days"),
    # Official day counts, plus weekend days named inside the notices' ranges and not counted by them.
    [(2024, 1 + 8 + 3 + 5 + 1 + 3 + 7), (2025, 1 + 8 + 3 + 5 + 3 + 8), (2026, 3 + 9 + 3 + 5 + 3 + 3 + 7)],
)
def test_each_years_holiday_day_count_matches_its_notice(year: int, holiday_days: int) -> None:
    assert sum(1 for day in CALENDAR.holidays if day.year == year) == holiday_days


def test_2025_spring_festival_and_its_makeup_weekend_days() -> None:
    # 1月28日（除夕）至2月4日放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
    assert CALENDAR.is_business_day(date(2025, 1, 26))  # a Sunday that is a working day
    assert CALENDAR.is_business_day(date(2025, 2, 8))  # a Saturday that is a working day
    for offset in range(8):
        assert not CALENDAR.is_business_day(date(2025, 1, 28) + timedelta(days=offset))
    assert CALENDAR.is_business_day(date(2025, 1, 27))
    assert CALENDAR.is_business_day(date(2025, 2, 5))
    assert not CALENDAR.is_business_day(date(2025, 2, 9))  # an ordinary Sunday


def test_2025_national_day_and_mid_autumn_week() -> None:
    assert [CALENDAR.is_business_day(date(2025, 10, d)) for d in range(1, 13)] == [
        False, False, False, False, False, False, False, False,  # 10月1日至8日
        True, True,  # Thursday 9, Friday 10
        True,  # Saturday 11: 上班
        False,  # Sunday 12
    ]  # fmt: skip
    assert CALENDAR.is_business_day(date(2025, 9, 28))  # Sunday 上班


def test_2024_makeup_days_and_holidays() -> None:
    assert CALENDAR.is_business_day(date(2024, 2, 4))  # Sunday before the Spring Festival
    assert CALENDAR.is_business_day(date(2024, 5, 11))  # Saturday after Labour Day
    assert not CALENDAR.is_business_day(date(2024, 6, 10))  # Dragon Boat, a Monday
    assert not CALENDAR.is_business_day(date(2024, 10, 7))
    assert CALENDAR.is_business_day(date(2024, 10, 12))  # Saturday 上班


def test_2024_new_years_eve_of_the_spring_festival_was_only_encouraged_rest() -> None:
    # 鼓励各单位……安排职工在除夕（2月9日）休息: not a public holiday, so still a business day.
    assert CALENDAR.is_business_day(date(2024, 2, 9))


def test_2026_dates() -> None:
    assert CALENDAR.is_business_day(date(2026, 1, 4))  # Sunday 上班 after New Year
    assert not CALENDAR.is_business_day(date(2026, 1, 2))  # Friday inside 元旦
    assert not CALENDAR.is_business_day(date(2026, 2, 23))  # 正月初七, Monday
    assert CALENDAR.is_business_day(date(2026, 2, 28))
    assert CALENDAR.is_business_day(date(2026, 9, 20))
    assert not CALENDAR.is_business_day(date(2026, 9, 25))  # 中秋节, Friday


def test_five_business_days_after_a_claim_skip_the_spring_festival_and_count_the_makeup_sunday() -> None:
    # Friday 24 Jan 2025: Sun 26 (上班) is day 1, Mon 27 day 2, 28 Jan..4 Feb closed, then 5, 6, 7 Feb.
    assert CALENDAR.add_business_days(date(2025, 1, 24), 5) == date(2025, 2, 7)
    assert CALENDAR.business_days_between(date(2025, 1, 24), date(2025, 2, 7)) == 5


def test_the_start_day_never_counts_and_zero_days_is_the_start_itself() -> None:
    saturday = date(2025, 3, 1)
    assert CALENDAR.add_business_days(saturday, 0) == saturday
    assert CALENDAR.add_business_days(saturday, 1) == date(2025, 3, 3)
    assert CALENDAR.add_business_days(date(2025, 3, 3), 1) == date(2025, 3, 4)
    assert CALENDAR.business_days_between(date(2025, 3, 3), date(2025, 3, 3)) == 0
    assert CALENDAR.business_days_between(date(2025, 3, 7), date(2025, 3, 3)) == -4


def test_negative_day_counts_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        CALENDAR.add_business_days(date(2025, 3, 3), -1)


@pytest.mark.parametrize("day", [date(2023, 12, 29), date(2027, 1, 4)])
def test_dates_beyond_the_data_are_refused_not_guessed(day: date) -> None:
    with pytest.raises(CalendarNotCovered) as raised:
        CALENDAR.is_business_day(day)
    assert raised.value.code == "calendar_not_covered"


def test_counting_into_an_uncovered_year_is_refused() -> None:
    with pytest.raises(CalendarNotCovered):
        CALENDAR.add_business_days(date(2026, 12, 28), 10)
    with pytest.raises(CalendarNotCovered):
        CALENDAR.business_days_between(date(2026, 12, 1), date(2027, 1, 5))


def _data(**year: Any) -> dict[str, Any]:
    entry = {"source": "test", "verified": False, "holidays": [], "makeup_workdays": []} | year
    return {"years": {"2025": entry}}


@pytest.mark.parametrize(
    "data",
    [
        {},
        _data(makeup_workdays=[{"date": "2025-03-03"}]),  # a Monday cannot be a make-up day
        _data(holidays=[{"first": "2025-03-05", "last": "2025-03-03"}]),
        _data(holidays=[{"first": "2024-12-31", "last": "2024-12-31"}]),  # wrong year
        _data(
            holidays=[{"first": "2025-03-01", "last": "2025-03-02"}],
            makeup_workdays=[{"date": "2025-03-01"}],
        ),
        _data(verified="yes"),
        _data(holidays=[{"first": "1 March", "last": "2025-03-02"}]),
    ],
)
def test_inconsistent_calendar_data_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(CalendarDataError):
        BusinessCalendar.from_data(data)


def test_load_reads_an_explicit_path(tmp_path: Path) -> None:
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps(_data(makeup_workdays=[{"date": "2025-03-01"}])), encoding="utf-8")
    calendar = BusinessCalendar.load(path)
    assert calendar.covered_years == {2025}
    assert calendar.is_business_day(date(2025, 3, 1))
    assert not calendar.sources[2025].verified


@given(covered_dates)
def test_weekends_are_not_business_days_unless_listed_as_makeup(day: date) -> None:
    if day.weekday() >= 5:
        assert CALENDAR.is_business_day(day) == (day in CALENDAR.makeup_workdays)


@given(covered_dates)
def test_holidays_are_never_business_days(day: date) -> None:
    if day in CALENDAR.holidays:
        assert not CALENDAR.is_business_day(day)


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 9, 30)), st.integers(0, 40))
def test_adding_business_days_lands_on_a_business_day_and_round_trips(start: date, n: int) -> None:
    end = CALENDAR.add_business_days(start, n)
    assert end >= start
    if n:
        assert CALENDAR.is_business_day(end)
    assert CALENDAR.business_days_between(start, end) == n


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 9, 30)), st.integers(0, 40))
def test_adding_more_business_days_never_moves_the_deadline_earlier(start: date, n: int) -> None:
    assert CALENDAR.add_business_days(start, n) < CALENDAR.add_business_days(start, n + 1)
    later_start = start + timedelta(days=1)
    assert CALENDAR.add_business_days(start, n) <= CALENDAR.add_business_days(later_start, n)


@given(covered_dates, covered_dates, covered_dates)
def test_business_days_between_is_additive(a: date, b: date, c: date) -> None:
    between = CALENDAR.business_days_between
    assert between(a, b) + between(b, c) == between(a, c)
