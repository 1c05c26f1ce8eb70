"""The business-day calendar past its holiday data: deadlines fall back to weekdays only, flagged
provisional, and a claim filed in late December gets one (recomputed once next year's notice is in)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.calendars.business_days import BusinessCalendar, CalendarNotCovered
from gateway.claims import service
from gateway.settings import Settings
from tests.claims.claims_factories import CLAIM_DAY, issue_guarantee, start_gateway

SHIPPED = BusinessCalendar.load()
LAST = max(SHIPPED.covered_years)
AMOUNT = 100_000 * 100


def with_next_year(calendar: BusinessCalendar, year: int) -> BusinessCalendar:
    """The shipped data plus a made-up notice for `year`: New Year's Day off, nothing else."""
    data: dict[str, Any] = {"years": {}}
    for covered, source in calendar.sources.items():
        data["years"][str(covered)] = {
            "source": source.source,
            "verified": source.verified,
            "holidays": [
                {"name": "h", "first": d.isoformat(), "last": d.isoformat()}
                for d in sorted(calendar.holidays)
                if d.year == covered
            ],
            "makeup_workdays": [
                {"name": "m", "date": d.isoformat()}
                for d in sorted(calendar.makeup_workdays)
                if d.year == covered
            ],
        }
    data["years"][str(year)] = {
        "source": "test",
        "verified": False,
        "holidays": [{"name": "元旦", "first": f"{year}-01-01", "last": f"{year}-01-01"}],
        "makeup_workdays": [],
    }
    return BusinessCalendar.from_data(data)


def test_the_shipped_data_stops_where_the_fallback_starts() -> None:
    assert LAST == 2026  # if this fails, the yearly update happened: move the dates below on
    with pytest.raises(CalendarNotCovered):
        SHIPPED.add_business_days(date(2026, 12, 28), 5)


def test_a_deadline_past_the_data_counts_weekdays_only_and_is_provisional() -> None:
    # Monday 2026-12-28: 12-29, 12-30, 12-31, then Friday 2027-01-01 (no notice loaded: a weekday),
    # Monday 01-04.
    due = SHIPPED.deadline(date(2026, 12, 28), 5)
    assert (due.day, due.provisional) == (date(2027, 1, 4), True)
    # Entirely past the data: plain weekdays.
    later = SHIPPED.deadline(date(2028, 3, 3), 2)  # a Friday
    assert (later.day, later.provisional) == (date(2028, 3, 7), True)
    # Once that year is loaded, the same count is exact and skips New Year's Day.
    exact = with_next_year(SHIPPED, 2027).deadline(date(2026, 12, 28), 5)
    assert (exact.day, exact.provisional) == (date(2027, 1, 5), False)


def test_a_date_before_the_data_is_still_refused_not_guessed() -> None:
    first = min(SHIPPED.covered_years)
    with pytest.raises(CalendarNotCovered):
        SHIPPED.deadline(date(first - 1, 6, 3), 5)
    with pytest.raises(ValueError, match="business days"):
        SHIPPED.deadline(date(2026, 6, 3), -1)


@given(
    start=st.dates(min_value=date(min(SHIPPED.covered_years), 1, 1), max_value=date(LAST, 11, 30)),
    n=st.integers(min_value=0, max_value=15),
)
def test_inside_the_data_the_deadline_is_the_exact_business_day_count(start: date, n: int) -> None:
    due = SHIPPED.deadline(start, n)
    if due.day.year <= LAST:
        assert not due.provisional
        assert due.day == SHIPPED.add_business_days(start, n)
        assert SHIPPED.business_days_between(start, due.day) == n
    else:
        assert due.provisional


@given(start=st.dates(min_value=date(LAST, 12, 1), max_value=date(LAST + 3, 12, 31)), n=st.integers(1, 30))
def test_past_the_data_the_deadline_is_a_weekday_and_never_early(start: date, n: int) -> None:
    due = SHIPPED.deadline(start, n)
    assert due.day.weekday() < 5 or due.day in SHIPPED.makeup_workdays
    assert due.day > start
    # never fewer calendar days than n weekdays need: at least n days later
    assert due.day - start >= timedelta(days=n)
    assert due.provisional == (due.day.year > LAST)


def test_a_claim_filed_in_late_december_gets_a_provisional_deadline_later_made_exact(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"claim_decision_business_days": 10})
    for gateway in start_gateway(settings):
        on_time = issue_guarantee(gateway)
        late = issue_guarantee(gateway)

        gateway.clock.now = CLAIM_DAY  # inside the data: exact
        normal = gateway.file_claim(on_time, AMOUNT)
        assert normal.status_code == 201, normal.text
        assert normal.json()["decision_due_provisional"] is False

        # Thursday 2026-12-24 10:00 Shanghai, the cover's last day: 10 weekdays reach 2027-01-07.
        gateway.clock.now = datetime(2026, 12, 24, 2, 0, tzinfo=UTC)
        filed = gateway.file_claim(late, AMOUNT)
        assert filed.status_code == 201, filed.text
        claim = filed.json()
        assert (claim["decision_due"], claim["decision_due_provisional"]) == ("2027-01-07", True)
        assert claim["overdue"] is False

        # Without new data the background fill leaves it as it is.
        with gateway.container.sessions() as session, session.begin():
            assert list(service.fill_missing_deadlines(session, SHIPPED)) == []
        # 2027's notice is loaded: recomputed exactly (New Year's Day off) and the flag cleared.
        with gateway.container.sessions() as session, session.begin():
            filled = service.fill_missing_deadlines(session, with_next_year(SHIPPED, 2027))
        assert list(filled) == [claim["id"]]
        again = gateway.get_claim(claim["id"])
        assert again.status_code == 200, again.text
        assert (again.json()["decision_due"], again.json()["decision_due_provisional"]) == (
            "2027-01-08",
            False,
        )
