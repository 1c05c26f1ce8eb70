"""The claim rules without a database: deadlines on the holiday calendar, cover, amount, reason, and
deciding once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.enums import GuaranteeStatus
from gateway.calendars.business_days import BusinessCalendar
from gateway.claims import errors
from gateway.claims.rules import (
    ClaimStatus,
    GuaranteeFacts,
    Outcome,
    check_claim,
    decision_due,
    is_overdue,
    is_repeat,
    stated_reason,
)

SHIPPED = BusinessCalendar.load()


def _calendar() -> BusinessCalendar:
    """A hand-made year, so the test does not lean on the shipped data: a holiday Saturday 03-02 ..
    Friday 03-08, with the Saturday after it (03-09) made a working day (调休)."""
    return BusinessCalendar.from_data(
        {
            "years": {
                "2030": {
                    "source": "test",
                    "verified": False,
                    "holidays": [{"name": "test", "first": "2030-03-02", "last": "2030-03-08"}],
                    "makeup_workdays": [{"name": "test", "date": "2030-03-09"}],
                }
            }
        }
    )


def test_deadline_skips_the_holiday_and_counts_the_makeup_saturday() -> None:
    calendar = _calendar()
    # Filed Friday 2030-03-01 10:00 Shanghai. 03-02..03-08 holiday; Saturday 03-09 works (1);
    # Sunday 03-10 rests; Monday 03-11 .. Thursday 03-14 (2..5).
    filed = datetime(2030, 3, 1, 2, 0, tzinfo=UTC)
    assert decision_due(filed, calendar, 5) == date(2030, 3, 14)
    assert decision_due(filed, calendar, 1) == date(2030, 3, 9)


def test_deadline_over_the_2026_spring_festival_with_its_makeup_saturdays() -> None:
    # Filed 2026-02-13 01:00 Shanghai (still 02-12 in UTC: the Shanghai date counts). Saturday 02-14 is
    # a make-up working day (1); 02-15..02-23 the Spring Festival; 02-24..02-27 (2..5).
    filed = datetime(2026, 2, 12, 17, 0, tzinfo=UTC)
    assert decision_due(filed, SHIPPED, 5) == date(2026, 2, 27)
    # The same instant read as a UTC date would be a day earlier and give 02-26: the zone matters.
    assert SHIPPED.add_business_days(date(2026, 2, 12), 5) == date(2026, 2, 26)


def test_deadline_over_national_day_2026() -> None:
    filed = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)
    assert decision_due(filed, SHIPPED, 5) == date(2026, 10, 12)


def test_a_deadline_beyond_the_calendar_data_is_left_open_not_guessed() -> None:
    filed = datetime(2030, 12, 30, 2, 0, tzinfo=UTC)  # 5 business days reach 2031: not in the data
    assert decision_due(filed, _calendar(), 5) is None


def _facts(status: GuaranteeStatus = GuaranteeStatus.ISSUED) -> GuaranteeFacts:
    return GuaranteeFacts("BK20260920-ABCDEF", status, 80_000_000, date(2026, 9, 25), date(2026, 12, 24))


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2026, 9, 24, 15, 59, tzinfo=UTC), False),  # 23:59 Shanghai the day before
        (datetime(2026, 9, 24, 16, 0, tzinfo=UTC), True),  # 00:00 Shanghai on cover_start
        (datetime(2026, 12, 24, 15, 59, tzinfo=UTC), True),  # 23:59 Shanghai on cover_end
        (datetime(2026, 12, 24, 16, 0, tzinfo=UTC), False),  # 00:00 Shanghai the day after
    ],
)
def test_cover_is_whole_shanghai_days_both_ends_included(moment: datetime, inside: bool) -> None:
    if inside:
        check_claim(_facts(), amount_fen=1, filed_at=moment)
    else:
        with pytest.raises(errors.OutsideCover):
            check_claim(_facts(), amount_fen=1, filed_at=moment)


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_only_amounts_from_one_fen_to_the_guarantee_amount_are_claimable(amount: int) -> None:
    moment = datetime(2026, 10, 1, tzinfo=UTC)
    if 0 < amount <= 80_000_000:
        check_claim(_facts(), amount_fen=amount, filed_at=moment)
    else:
        with pytest.raises(errors.AmountExceeded):
            check_claim(_facts(), amount_fen=amount, filed_at=moment)


@pytest.mark.parametrize("status", list(GuaranteeStatus))
def test_only_issued_or_locked_guarantees_are_claimable(status: GuaranteeStatus) -> None:
    moment = datetime(2026, 10, 1, tzinfo=UTC)
    if status in (GuaranteeStatus.ISSUED, GuaranteeStatus.LOCKED):
        check_claim(_facts(status), amount_fen=1, filed_at=moment)
    else:
        expected = errors.ClaimExists if status is GuaranteeStatus.CLAIMED else errors.GuaranteeNotClaimable
        with pytest.raises(expected):
            check_claim(_facts(status), amount_fen=1, filed_at=moment)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "x" * 2001, "违约\x00", "违\x1b约"])
def test_a_reason_is_stated_and_bounded(reason: str) -> None:
    with pytest.raises(errors.ReasonRequired):
        stated_reason(reason)
    assert stated_reason("  违约  ") == "违约"


def test_a_claim_is_decided_once() -> None:
    assert is_repeat(ClaimStatus.OPEN, Outcome.PAID) is False
    assert is_repeat(ClaimStatus.PAID, Outcome.PAID) is True
    assert is_repeat(ClaimStatus.REFUSED, Outcome.REFUSED) is True
    with pytest.raises(errors.AlreadyDecided):
        is_repeat(ClaimStatus.PAID, Outcome.REFUSED)
    with pytest.raises(errors.AlreadyDecided):
        is_repeat(ClaimStatus.REFUSED, Outcome.PAID)


def test_overdue_means_open_after_the_decision_day() -> None:
    due = date(2026, 10, 12)
    assert not is_overdue(ClaimStatus.OPEN, due, today=due)
    assert is_overdue(ClaimStatus.OPEN, due, today=date(2026, 10, 13))
    assert not is_overdue(ClaimStatus.PAID, due, today=date(2026, 10, 13))
    assert not is_overdue(ClaimStatus.OPEN, None, today=date(2030, 1, 1))
