"""Business days on China's State Council holiday calendar (domain.md, "Calendars"), kept as data.

`cn_holidays.json` holds, per year, the holiday ranges (放假) and the make-up working days (调休上班)
of that year's notice 《国务院办公厅关于20xx年部分节假日安排的通知》. A day is a business day when it
is a listed make-up working day, or a Monday-Friday that is not a listed holiday. A date in a year the
data does not cover is refused with `CalendarNotCovered`, never guessed: next year's notice usually
comes out in October or November, and a deadline computed on a guess would be silently wrong.

Counting convention (the deadline "within N business days after" an event, e.g. a claim decision):

- `add_business_days(start, n)` is the n-th business day strictly after `start`. The event's own day
  never counts, whether or not it is a business day: a claim received on Friday 2025-01-24 with 5
  business days to answer is due on 2025-02-07 (Sunday 01-26 is a make-up working day, 01-28..02-04
  are the Spring Festival). `n == 0` returns `start` itself.
- `deadline(start, n)` is `add_business_days` that never refuses a date *past* the data: days in
  years after the last covered one count as Monday-Friday only (no holidays known) and the answer is
  flagged `provisional`, to be recomputed once that year's notice is loaded. Claims use it so a
  claim filed in late December still gets a (provisional) decision deadline.
- `business_days_between(a, b)` counts the business days d with a < d <= b (negative when b < a), so
  `business_days_between(start, add_business_days(start, n)) == n`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Final

from gateway.errors import GatewayError

_DATA_FILE: Final = "cn_holidays.json"
_SATURDAY: Final = 5
_ONE_DAY: Final = timedelta(days=1)


class CalendarNotCovered(GatewayError):
    """The holiday data has no year for this date (its State Council notice is not loaded yet)."""

    code: ClassVar[str] = "calendar_not_covered"
    status: ClassVar[int] = 503
    title: ClassVar[str] = "The business-day calendar does not cover this date"


class CalendarDataError(GatewayError):
    """The calendar data file is malformed or contradicts itself."""

    code: ClassVar[str] = "calendar_data_invalid"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "The business-day calendar data is invalid"


@dataclass(frozen=True, slots=True)
class YearSource:
    year: int
    source: str  # the notice's title (and document number when known)
    verified: bool  # checked against the published notice


@dataclass(frozen=True, slots=True)
class Deadline:
    day: date
    provisional: bool  # some counted day lies past the holiday data: weekdays only, recompute later


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    sources: Mapping[int, YearSource]

    @classmethod
    def load(cls, path: Path | str | None = None) -> BusinessCalendar:
        """Read the calendar from `path`, or from the `cn_holidays.json` shipped with this package."""
        if path is None:
            text = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CalendarDataError(f"calendar data is not JSON: {error}") from error
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> BusinessCalendar:
        """Build from the parsed JSON document; every inconsistency is a `CalendarDataError`."""
        years = _field(data, "years", dict, "document")
        holidays: set[date] = set()
        makeup: set[date] = set()
        sources: dict[int, YearSource] = {}
        for year_text, entry in years.items():
            where = f"year {year_text}"
            if not (isinstance(year_text, str) and year_text.isdigit() and len(year_text) == 4):
                raise CalendarDataError(f"{where}: a year key is four digits")
            year = int(year_text)
            sources[year] = YearSource(
                year=year,
                source=_field(entry, "source", str, where),
                verified=_field(entry, "verified", bool, where),
            )
            for holiday in _field(entry, "holidays", list, where):
                first = _date_field(holiday, "first", year, where)
                last = _date_field(holiday, "last", year, where)
                if last < first:
                    raise CalendarDataError(f"{where}: holiday range {first}..{last} is backwards")
                day = first
                while day <= last:
                    holidays.add(day)
                    day += _ONE_DAY
            for workday in _field(entry, "makeup_workdays", list, where):
                day = _date_field(workday, "date", year, where)
                if day.weekday() < _SATURDAY:
                    raise CalendarDataError(f"{where}: make-up working day {day} is not a weekend day")
                makeup.add(day)
        clash = holidays & makeup
        if clash:
            raise CalendarDataError(f"days both holiday and make-up working day: {sorted(clash)}")
        return cls(holidays=frozenset(holidays), makeup_workdays=frozenset(makeup), sources=sources)

    @property
    def covered_years(self) -> frozenset[int]:
        return frozenset(self.sources)

    def is_business_day(self, day: date) -> bool:
        self._require_covered(day)
        if day in self.makeup_workdays:
            return True
        return day.weekday() < _SATURDAY and day not in self.holidays

    def add_business_days(self, start: date, n: int) -> date:
        """The n-th business day strictly after `start` (`start` itself when n == 0)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"a number of business days is an int >= 0, got {n!r}")
        self._require_covered(start)
        day = start
        remaining = n
        while remaining:
            day += _ONE_DAY
            if self.is_business_day(day):
                remaining -= 1
        return day

    def deadline(self, start: date, n: int) -> Deadline:
        """The n-th business day strictly after `start`, falling back to weekdays only (provisional)
        for days after the last covered year. A `start` before or between covered years is refused."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"a number of business days is an int >= 0, got {n!r}")
        last = max(self.sources, default=None)
        if last is None or start.year <= last:
            self._require_covered(start)
        day = start
        remaining = n
        provisional = last is None or start.year > last
        while remaining:
            day += _ONE_DAY
            if last is not None and day.year <= last:
                business = self.is_business_day(day)
            else:
                provisional = True
                business = day.weekday() < _SATURDAY
            remaining -= business
        return Deadline(day=day, provisional=provisional)

    def business_days_between(self, a: date, b: date) -> int:
        """Business days d with a < d <= b; the negated count for b < a."""
        if b < a:
            return -self.business_days_between(b, a)
        self._require_covered(a)
        self._require_covered(b)
        count = 0
        day = a + _ONE_DAY
        while day <= b:
            count += self.is_business_day(day)
            day += _ONE_DAY
        return count

    def _require_covered(self, day: date) -> None:
        if day.year not in self.sources:
            covered = ", ".join(str(year) for year in sorted(self.sources)) or "none"
            raise CalendarNotCovered(
                f"no State Council holiday notice loaded for {day.year} (date {day}); covered: {covered}",
                day=day.isoformat(),
            )


def _field(container: Any, name: str, kind: type[Any], where: str) -> Any:
    if not isinstance(container, dict) or name not in container:
        raise CalendarDataError(f"{where}: missing {name!r}")
    value = container[name]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise CalendarDataError(f"{where}: {name!r} must be a {kind.__name__}")
    return value


def _date_field(container: Any, name: str, year: int, where: str) -> date:
    text = _field(container, name, str, where)
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise CalendarDataError(f"{where}: {name!r} is not an ISO date: {text!r}") from error
    if day.year != year:
        raise CalendarDataError(f"{where}: {day} is listed under the wrong year")
    return day
