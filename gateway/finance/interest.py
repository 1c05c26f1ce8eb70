"""Interest on a cash bid deposit refunded with 同期银行存款利息 (招标投标法实施条例 art. 57).

Conventions, all exact (no float, no Decimal context):

- Rates are annual, in parts per million (ppm): 0.35% is 3500 ppm. A `RateTable` is a dated list of
  `(effective_from, rate_ppm)`; a rate applies from its date (inclusive) until the next entry's date.
- Interest runs from the deposit's value date (inclusive: the day the money arrived) to the refund
  date (exclusive: the day it leaves earns nothing), so a deposit refunded the day it arrived earns 0
  and the day count is `(end - start).days`.
- Day count actual/360, the convention of Chinese bank deposit interest (日利率 = 年利率 / 360).
- Each day earns at the rate in force that day; the periods' exact rational amounts are summed and
  rounded once, to whole fen, half up (0.5 fen and above goes up). Rounding per period instead would
  make a refund depend on how many rate changes it happened to span.

`DEFAULT_RATE_TABLE` is the People's Bank of China benchmark demand-deposit rate (活期存款基准利率),
0.35% since 2012-07-06. A center whose escrow bank pays its own listed demand rate (the large banks
cut theirs several times after 2022) configures that bank's dated rates instead.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from itertools import pairwise
from typing import ClassVar, Final

from gateway.errors import GatewayError

PPM: Final = 1_000_000
DAY_COUNT_BASIS: Final = 360


class InterestError(GatewayError):
    code: ClassVar[str] = "invalid_interest_period"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Interest cannot be computed for this deposit"


@dataclass(frozen=True, slots=True)
class RatePeriod:
    effective_from: date
    rate_ppm: int  # annual rate in parts per million: 3500 = 0.35%


@dataclass(frozen=True, slots=True)
class RateTable:
    """Dated annual rates; strictly increasing dates, no rate before the first entry."""

    periods: tuple[RatePeriod, ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise InterestError("a rate table needs at least one rate")
        for period in self.periods:
            rate = period.rate_ppm
            if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
                raise InterestError(f"a rate is an int >= 0 in ppm, got {rate!r}")
        dates = [period.effective_from for period in self.periods]
        if any(later <= earlier for earlier, later in pairwise(dates)):
            raise InterestError("rate dates must be strictly increasing")

    @classmethod
    def of(cls, rates: Iterable[tuple[date, int]]) -> RateTable:
        """From `(effective_from, rate_ppm)` pairs in any order."""
        return cls(tuple(RatePeriod(day, rate) for day, rate in sorted(rates)))

    def rate_on(self, day: date) -> int:
        index = bisect_right([period.effective_from for period in self.periods], day) - 1
        if index < 0:
            first = self.periods[0].effective_from
            raise InterestError(f"no rate in force on {day}; the table starts {first}")
        return self.periods[index].rate_ppm


DEFAULT_RATE_TABLE: Final = RateTable.of([(date(2012, 7, 6), 3500)])


def exact_interest(
    principal_fen: int, start: date, end: date, table: RateTable, *, basis: int = DAY_COUNT_BASIS
) -> Fraction:
    """Interest in fen as an exact fraction, for days start <= d < end (actual/`basis`)."""
    if basis not in (360, 365):
        raise InterestError(f"the day-count basis is 360 or 365, got {basis!r}")
    if isinstance(principal_fen, bool) or not isinstance(principal_fen, int) or principal_fen < 0:
        raise InterestError(f"a principal is an int >= 0 fen, got {principal_fen!r}")
    if end < start:
        raise InterestError(f"the refund date {end} is before the value date {start}")
    if start == end:
        return Fraction(0)
    table.rate_on(start)  # refuses a start before the table
    # Sum rate × days over the periods the interval crosses, then scale once.
    rate_days = 0
    boundaries = [period.effective_from for period in table.periods]
    for index, period in enumerate(table.periods):
        period_end = boundaries[index + 1] if index + 1 < len(boundaries) else end
        overlap_start = max(start, period.effective_from)
        overlap_end = min(end, period_end)
        if overlap_end > overlap_start:
            rate_days += period.rate_ppm * (overlap_end - overlap_start).days
    return Fraction(principal_fen * rate_days, PPM * basis)


def round_half_up(amount: Fraction) -> int:
    """Whole fen, halves away from zero (the amounts here are never negative)."""
    if amount < 0:
        return -round_half_up(-amount)
    whole, remainder = divmod(amount.numerator, amount.denominator)
    return whole + (2 * remainder >= amount.denominator)


def interest_fen(
    principal_fen: int,
    start: date,
    end: date,
    table: RateTable = DEFAULT_RATE_TABLE,
    *,
    basis: int = DAY_COUNT_BASIS,
) -> int:
    """Interest in whole fen on `principal_fen` from value date `start` (inclusive) to refund date
    `end` (exclusive), actual/360, at the table's rate for each day, rounded half up once."""
    return round_half_up(exact_interest(principal_fen, start, end, table, basis=basis))
