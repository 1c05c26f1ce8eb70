"""The pure bid-security evaluator: every reason on its own, reasons together, and the choice among
several securities."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.centers.security_check import (
    Bidder,
    DepositFacts,
    GuaranteeFacts,
    PendingOrder,
    Reason,
    SectionFacts,
    evaluate,
    guarantee_reasons,
)

DEADLINE = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
SECTION = SectionFacts(
    code="S-1",
    tenderee_uscc="T-USCC",
    tenderee_name="招标人",
    deposit_fen=80_000_000,
    bid_deadline_at=DEADLINE,
    cover_from=date(2026, 12, 1),
    cover_until=date(2027, 3, 1),
)
BIDDER = Bidder("B-USCC", "投标人（深圳）有限公司")
GOOD = GuaranteeFacts(
    guarantee_no="BK1",
    status="issued",
    paid=True,
    authentic=True,
    section_code="S-1",
    applicant_uscc="B-USCC",
    applicant_name="投标人(深圳)有限公司",
    beneficiary_uscc="T-USCC",
    beneficiary_name="招标人",
    amount_fen=80_000_000,
    cover_start=date(2026, 12, 1),
    cover_end=date(2027, 3, 1),
    issued_at=DEADLINE - timedelta(days=1),
)
DEPOSIT = DepositFacts("dep1", "S-1", "B-USCC", 80_000_000, DEADLINE - timedelta(hours=1), "held")

SINGLE_FAULTS: list[tuple[dict[str, object], Reason]] = [
    ({"authentic": False}, Reason.SIGNATURE_INVALID),
    ({"section_code": "S-2"}, Reason.WRONG_SECTION),
    ({"beneficiary_uscc": "X"}, Reason.BENEFICIARY_MISMATCH),
    ({"beneficiary_name": "别人"}, Reason.BENEFICIARY_MISMATCH),
    ({"applicant_uscc": "X"}, Reason.BIDDER_MISMATCH),
    ({"applicant_name": "另一家公司"}, Reason.BIDDER_MISMATCH),
    ({"amount_fen": 79_999_999}, Reason.AMOUNT_SHORT),
    ({"cover_end": date(2027, 2, 28)}, Reason.COVER_SHORT),
    ({"cover_start": date(2026, 12, 2)}, Reason.COVER_SHORT),
    ({"paid": False}, Reason.NOT_PAID),
    ({"issued_at": DEADLINE + timedelta(seconds=1)}, Reason.ISSUED_AFTER_DEADLINE),
    ({"status": "surrendered"}, Reason.SURRENDERED),
    ({"status": "cancelled"}, Reason.CANCELLED),
    ({"status": "claimed"}, Reason.CLAIMED),
    ({"status": "claim_paid"}, Reason.CLAIMED),
    ({"status": "released"}, Reason.RELEASED),
    ({"status": "expired"}, Reason.EXPIRED),
]


def test_a_good_guarantee_is_valid_and_names_itself() -> None:
    verdict = evaluate(SECTION, BIDDER, [GOOD], [], None)
    assert (verdict.kind, verdict.reference, verdict.valid, verdict.reasons) == ("guarantee", "BK1", True, ())


def test_a_locked_guarantee_stays_valid() -> None:
    assert evaluate(SECTION, BIDDER, [dataclasses.replace(GOOD, status="locked")], [], None).valid


def test_cover_exactly_reaching_the_end_and_issue_at_the_deadline_are_enough() -> None:
    edge = dataclasses.replace(GOOD, cover_end=SECTION.cover_until, issued_at=DEADLINE, amount_fen=80_000_000)
    assert guarantee_reasons(SECTION, BIDDER, edge) == ()


@pytest.mark.parametrize(("change", "reason"), SINGLE_FAULTS)
def test_each_fault_alone_gives_exactly_its_reason(change: dict[str, object], reason: Reason) -> None:
    verdict = evaluate(SECTION, BIDDER, [dataclasses.replace(GOOD, **change)], [], None)  # type: ignore[arg-type]
    assert (verdict.valid, verdict.reasons, verdict.reference) == (False, (reason,), "BK1")


@given(st.lists(st.sampled_from(range(len(SINGLE_FAULTS) - 6)), unique=True, min_size=1))
def test_every_fault_present_is_reported(indexes: list[int]) -> None:
    # Faults on distinct fields (the status faults are mutually exclusive, so left out here)
    change: dict[str, object] = {}
    expected = set()
    for index in indexes:
        fields, reason = SINGLE_FAULTS[index]
        if set(fields) & set(change):
            continue
        change.update(fields)
        expected.add(reason)
    verdict = evaluate(SECTION, BIDDER, [dataclasses.replace(GOOD, **change)], [], None)  # type: ignore[arg-type]
    assert set(verdict.reasons) == expected
    assert not verdict.valid


def test_nothing_found() -> None:
    verdict = evaluate(SECTION, BIDDER, [], [], None)
    assert (verdict.kind, verdict.valid, verdict.reasons) == (None, False, (Reason.NOT_FOUND,))


def test_an_unpaid_or_cancelled_order_is_reported_as_such() -> None:
    unpaid = evaluate(SECTION, BIDDER, [], [PendingOrder("ap1", "awaiting_payment")], None)
    assert (unpaid.kind, unpaid.reference, unpaid.reasons) == ("application", "ap1", (Reason.NOT_PAID,))
    cancelled = evaluate(SECTION, BIDDER, [], [PendingOrder("ap2", "cancelled")], None)
    assert cancelled.reasons == (Reason.CANCELLED,)


def test_a_valid_guarantee_wins_over_an_ended_one_and_a_standing_one_explains_best() -> None:
    ended = dataclasses.replace(GOOD, guarantee_no="OLD", status="surrendered")
    assert evaluate(SECTION, BIDDER, [ended, GOOD], [], None).reference == "BK1"
    short = dataclasses.replace(GOOD, guarantee_no="SHORT", cover_end=date(2027, 1, 1))
    verdict = evaluate(SECTION, BIDDER, [ended, short], [], None)
    assert (verdict.reference, verdict.reasons) == ("SHORT", (Reason.COVER_SHORT,))


def test_a_cash_deposit_is_security_too() -> None:
    verdict = evaluate(SECTION, BIDDER, [], [], DEPOSIT)
    assert (verdict.kind, verdict.reference, verdict.valid) == ("deposit", "dep1", True)
    short_guarantee = dataclasses.replace(GOOD, amount_fen=1)
    assert evaluate(SECTION, BIDDER, [short_guarantee], [], DEPOSIT).kind == "deposit"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount_fen": 1}, Reason.AMOUNT_SHORT),
        ({"received_at": DEADLINE + timedelta(minutes=1)}, Reason.ISSUED_AFTER_DEADLINE),
        ({"status": "refunded"}, Reason.DEPOSIT_REFUNDED),
        ({"bidder_uscc": "X"}, Reason.BIDDER_MISMATCH),
        ({"section_code": "S-9"}, Reason.WRONG_SECTION),
    ],
)
def test_a_deposit_fault_is_reported(change: dict[str, object], reason: Reason) -> None:
    verdict = evaluate(SECTION, BIDDER, [], [], dataclasses.replace(DEPOSIT, **change))  # type: ignore[arg-type]
    assert (verdict.kind, verdict.valid, verdict.reasons) == ("deposit", False, (reason,))


def test_an_invalid_guarantee_is_reported_before_an_invalid_deposit() -> None:
    verdict = evaluate(
        SECTION,
        BIDDER,
        [dataclasses.replace(GOOD, paid=False)],
        [],
        dataclasses.replace(DEPOSIT, status="refunded"),
    )
    assert (verdict.kind, verdict.reasons) == ("guarantee", (Reason.NOT_PAID,))
