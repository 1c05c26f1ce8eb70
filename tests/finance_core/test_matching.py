"""Reconciliation matching rules: reference, amount + counterparty + date window, groups, never twice."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.statements import Direction, Statement, StatementLine
from gateway.finance.matching import (
    AccountLine,
    LedgerItem,
    MatchingError,
    MatchingRules,
    Reconciliation,
    reconcile,
    reconcile_positions,
    statement_lines,
)

ESCROW = "110060149018800012345"
DAY = date(2025, 6, 10)
_counter = iter(range(10**9))


def line(
    amount: int,
    *,
    party: str | None = "6222000011112222",
    on: date = DAY,
    direction: Direction = "credit",
    reference: str | None = None,
    customer_reference: str | None = None,
    reversal: bool = False,
) -> AccountLine:
    return AccountLine(
        ESCROW,
        StatementLine(
            value_date=on,
            amount_minor=amount,
            direction=direction,
            currency="CNY",
            bank_reference=reference,
            customer_reference=customer_reference,
            counterparty_account=party,
            counterparty_name="某建设工程有限公司",
            is_reversal=reversal,
            source_location=f"line {next(_counter)}",
        ),
    )


def item(
    item_id: str,
    amount: int,
    *,
    party: str = "6222000011112222",
    on: date = DAY,
    direction: Direction = "credit",
    reference: str | None = None,
) -> LedgerItem:
    return LedgerItem(
        item_id=item_id,
        amount_minor=amount,
        direction=direction,
        counterparty_account=party,
        counterparty_name="某建设工程有限公司",
        expected_date=on,
        bank_reference=reference,
    )


def pairs(result: Reconciliation) -> list[tuple[str, tuple[str, ...], int]]:
    """Each match as (rule, item ids, number of lines)."""
    return [(match.rule, match.item_ids, len(match.lines)) for match in result.matches]


def test_the_bank_reference_matches_first_even_without_a_counterparty() -> None:
    result = reconcile(
        [line(100_000_00, party=None, reference="B2025061000042", on=DAY + timedelta(days=20))],
        [item("dep-1", 100_000_00, reference="B2025061000042"), item("dep-2", 100_000_00)],
    )
    assert pairs(result) == [("reference", ("dep-1",), 1)]
    assert [i.item_id for i in result.unmatched_items] == ["dep-2"]


def test_the_customer_reference_we_sent_also_matches() -> None:
    result = reconcile(
        [line(5_000_00, direction="debit", customer_reference="REFUND-77")],
        [item("refund-77", 5_000_00, direction="debit", reference="REFUND-77")],
    )
    assert pairs(result) == [("reference", ("refund-77",), 1)]


def test_one_reference_shared_by_several_items_settles_them_together() -> None:
    result = reconcile(
        [line(300_00, reference="BATCH-9")],
        [item("a", 100_00, reference="BATCH-9"), item("b", 200_00, reference="BATCH-9")],
    )
    assert pairs(result) == [("reference", ("a", "b"), 1)]


def test_a_reference_with_the_wrong_amount_or_direction_does_not_match_by_reference() -> None:
    result = reconcile(
        [
            line(99_00, reference="R1", party=None),
            line(100_00, reference="R2", direction="debit", party=None),
        ],
        [item("a", 100_00, reference="R1"), item("b", 100_00, reference="R2")],
    )
    assert result.matches == ()


def test_amount_counterparty_and_date_within_the_drift() -> None:
    items = [item("dep", 20_000_00, on=DAY)]
    inside = reconcile([line(20_000_00, on=DAY + timedelta(days=3))], items)
    assert pairs(inside) == [("amount_counterparty_date", ("dep",), 1)]
    outside = reconcile([line(20_000_00, on=DAY + timedelta(days=4))], items)
    assert outside.matches == ()
    wider = reconcile([line(20_000_00, on=DAY + timedelta(days=4))], items, rules=MatchingRules(drift_days=4))
    assert len(wider.matches) == 1
    early = reconcile([line(20_000_00, on=DAY - timedelta(days=3))], items)
    assert len(early.matches) == 1


def test_account_numbers_printed_with_spaces_still_match() -> None:
    result = reconcile([line(1_00, party="6222 0000 1111 2222")], [item("x", 1_00)])
    assert len(result.matches) == 1


@pytest.mark.parametrize(
    "wrong",
    [
        line(20_000_01),
        line(20_000_00, party="6222000099998888"),
        line(20_000_00, direction="debit"),
        line(20_000_00, party=None),
        line(20_000_00, reversal=True),
    ],
)
def test_a_different_amount_counterparty_or_direction_or_a_reversal_does_not_match(
    wrong: AccountLine,
) -> None:
    result = reconcile([wrong], [item("dep", 20_000_00)])
    assert result.matches == ()
    assert result.unmatched_lines == (wrong,)


def test_the_nearest_date_wins_then_the_earlier_one() -> None:
    items = [
        item("far", 500_00, on=DAY - timedelta(days=3)),
        item("later", 500_00, on=DAY + timedelta(days=1)),
        item("earlier", 500_00, on=DAY - timedelta(days=1)),
    ]
    result = reconcile([line(500_00), line(500_00)], items)
    assert [match.item_ids for match in result.matches] == [("earlier",), ("later",)]
    assert [i.item_id for i in result.unmatched_items] == ["far"]


def test_one_transfer_paying_several_section_deposits_settles_them() -> None:
    items = [item("s1", 10_000_00), item("s2", 20_000_00), item("s3", 40_000_00), item("other", 7_00)]
    result = reconcile([line(30_000_00, on=DAY + timedelta(days=1))], items)
    assert pairs(result) == [("group", ("s1", "s2"), 1)]


def test_a_refund_paid_in_several_transfers_settles_the_refund() -> None:
    lines = [line(amount, direction="debit") for amount in (100_000_00, 100_000_00, 50_000_00)]
    result = reconcile(lines, [item("refund", 250_000_00, direction="debit")])
    assert pairs(result) == [("group", ("refund",), 3)]
    assert result.unmatched_lines == ()


def test_the_smallest_group_wins() -> None:
    lines = [line(amount) for amount in (1_00, 2_00, 3_00, 6_00)]
    result = reconcile(lines, [item("x", 7_00)])
    assert [sorted(ln.line.amount_minor for ln in match.lines) for match in result.matches] == [[1_00, 6_00]]


def test_groups_never_reach_beyond_the_window_or_the_bound() -> None:
    late = [line(1_00, on=DAY), line(1_00, on=DAY + timedelta(days=4))]
    assert reconcile(late, [item("x", 2_00)]).matches == ()
    six = [line(1_00) for _ in range(6)]
    assert reconcile(six, [item("x", 6_00)]).matches == ()
    assert len(reconcile(six, [item("x", 6_00)], rules=MatchingRules(max_group=6)).matches) == 1


def test_partial_settlement_is_not_a_match() -> None:
    result = reconcile([line(40_00), line(50_00)], [item("x", 100_00)])
    assert result.matches == ()
    assert len(result.unmatched_items) == 1


def test_items_matched_before_are_never_matched_again() -> None:
    result = reconcile([line(1_00)], [item("x", 1_00)], matched_item_ids={"x"})
    assert result.matches == ()
    assert result.unmatched_items == ()


def test_importing_the_same_statement_twice_matches_each_line_once() -> None:
    statement = Statement(
        account=ESCROW,
        currency="CNY",
        lines=(line(1_00).line, line(2_00, reference="B7").line),
        source_location="file.sta",
    )
    items = [item("x", 1_00), item("y", 2_00), item("z", 3_00)]
    result = reconcile(statement_lines(statement) + statement_lines(statement), items)
    assert sorted(pairs(result)) == [
        ("amount_counterparty_date", ("x",), 1),
        ("amount_counterparty_date", ("y",), 1),
    ]
    assert len(result.unmatched_lines) == 2
    keys = {key for match in result.matches for key in match.line_keys}
    again = reconcile(statement_lines(statement), items, matched_line_keys=keys)
    assert again.matches == ()


def test_the_same_item_id_twice_is_refused() -> None:
    with pytest.raises(MatchingError) as raised:
        reconcile([], [item("x", 1_00), item("x", 2_00)])
    assert raised.value.code == "invalid_matching_input"


@pytest.mark.parametrize("amount", [0, -1])
def test_ledger_items_have_a_positive_amount(amount: int) -> None:
    with pytest.raises(MatchingError):
        item("x", amount)


def _mixed_case(seed: int) -> tuple[list[AccountLine], list[LedgerItem]]:
    rng = random.Random(seed)
    lines: list[AccountLine] = []
    items: list[LedgerItem] = []
    for n in range(60):
        party = f"62220000{rng.randrange(5):08d}"
        on = DAY + timedelta(days=rng.randrange(10))
        amount = rng.randrange(1, 50) * 100
        items.append(item(f"i{n:03d}", amount, party=party, on=on, reference=f"R{n}" if n % 7 == 0 else None))
        kind = rng.randrange(4)
        shifted = on + timedelta(days=rng.randrange(-2, 3))
        if kind == 0:
            lines.append(line(amount, party=party, on=shifted, reference=f"R{n}" if n % 7 == 0 else None))
        elif kind == 1:
            lines.extend([line(amount - 100, party=party, on=shifted), line(100, party=party, on=shifted)])
    return lines, items


@given(st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_input_order(seed: int, shuffler: random.Random) -> None:
    lines, items = _mixed_case(seed)
    first = reconcile(lines, items)
    shuffler.shuffle(lines)
    shuffler.shuffle(items)
    second = reconcile(lines, items)
    assert first == second


@given(st.integers(0, 10_000))
def test_running_again_without_the_matched_ids_matches_nothing_new(seed: int) -> None:
    lines, items = _mixed_case(seed)
    first = reconcile(lines, items)
    matched_ids = {item_id for match in first.matches for item_id in match.item_ids}
    matched_keys = {key for match in first.matches for key in match.line_keys}
    assert reconcile(lines, items, matched_item_ids=matched_ids, matched_line_keys=matched_keys).matches == ()
    # And nothing is ever matched twice within one run.
    assert len(matched_ids) == sum(len(match.items) for match in first.matches)
    assert len(matched_keys) == sum(len(match.lines) for match in first.matches)


@given(st.integers(0, 10_000))
def test_every_match_balances(seed: int) -> None:
    lines, items = _mixed_case(seed)
    for match in reconcile(lines, items).matches:
        assert sum(ln.line.amount_minor for ln in match.lines) == sum(i.amount_minor for i in match.items)


@st.composite
def splits(draw: st.DrawFn) -> tuple[int, list[int], list[int]]:
    """An amount, its split into 1..5 positive parts, and each part's day offset within the window."""
    parts_count = draw(st.integers(1, 5))
    parts = draw(st.lists(st.integers(1, 10**10), min_size=parts_count, max_size=parts_count))
    offsets = draw(st.lists(st.integers(-3, 3), min_size=parts_count, max_size=parts_count))
    return sum(parts), parts, offsets


@given(splits(), st.sampled_from(["credit", "debit"]))
def test_any_split_of_a_refund_into_statement_lines_reconciles(
    split: tuple[int, list[int], list[int]], direction: Direction
) -> None:
    total, parts, offsets = split
    lines = [
        line(part, on=DAY + timedelta(days=offset), direction=direction)
        for part, offset in zip(parts, offsets, strict=True)
    ]
    noise = [line(total, party="6222000099990000", direction=direction)]
    result = reconcile(lines + noise, [item("refund", total, direction=direction)])
    assert len(result.matches) == 1
    assert result.matches[0].item_ids == ("refund",)
    assert sorted(result.matches[0].line_keys) == sorted(ln.key for ln in lines)
    assert result.unmatched_lines == tuple(noise)


@given(splits())
def test_any_split_of_one_transfer_into_ledger_items_reconciles(
    split: tuple[int, list[int], list[int]],
) -> None:
    total, parts, offsets = split
    items = [
        item(f"section-{n}", part, on=DAY + timedelta(days=offset))
        for n, (part, offset) in enumerate(zip(parts, offsets, strict=True))
    ]
    result = reconcile([line(total)], items)
    assert len(result.matches) == 1
    assert sorted(result.matches[0].item_ids) == sorted(i.item_id for i in items)


REFERENCES = [f"R{n}" for n in range(6)] + [None]
PARTIES = ["6222000000000001", "6222000000000002"]


@st.composite
def contested(draw: st.DrawFn) -> tuple[list[AccountLine], list[LedgerItem]]:
    """Few references, amounts, parties and days, so that lines compete for items: one reference on
    several lines or items, as bank and as customer reference, on reversals, in both directions."""
    amounts = st.sampled_from([100, 200, 300])
    directions: st.SearchStrategy[Direction] = st.sampled_from(["credit", "debit"])
    days = st.integers(0, 3).map(lambda n: DAY + timedelta(days=n))
    items = [
        item(
            f"i{n}",
            draw(amounts),
            party=draw(st.sampled_from(PARTIES)),
            on=draw(days),
            direction=draw(directions),
            reference=draw(st.sampled_from(REFERENCES)),
        )
        for n in range(draw(st.integers(0, 8)))
    ]
    lines = [
        line(
            draw(amounts),
            party=draw(st.sampled_from(PARTIES)),
            on=draw(days),
            direction=draw(directions),
            reference=draw(st.sampled_from(REFERENCES)),
            customer_reference=draw(st.sampled_from([*REFERENCES, None, None, None])),
            reversal=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 10)))
    ]
    return lines, items


def _outcome(
    result: Reconciliation,
) -> tuple[list[tuple[str, tuple[str, ...], tuple[str, ...]]], list[str], list[str]]:
    return (
        sorted((match.rule, match.line_keys, match.item_ids) for match in result.matches),
        sorted(ln.key for ln in result.unmatched_lines),
        sorted(i.item_id for i in result.unmatched_items),
    )


@given(contested())
def test_uncontested_references_first_finds_the_same_matches(
    case: tuple[list[AccountLine], list[LedgerItem]],
) -> None:
    lines, items = case
    fast = reconcile_positions(lines, items, uncontested_first=True).reconciliation()
    assert _outcome(fast) == _outcome(reconcile(lines, items))


@given(st.integers(0, 10_000))
def test_uncontested_references_first_finds_the_same_matches_in_the_mixed_case(seed: int) -> None:
    lines, items = _mixed_case(seed)
    fast = reconcile_positions(lines, items, uncontested_first=True)
    assert _outcome(fast.reconciliation()) == _outcome(reconcile(lines, items))
    assert [fast.lines[i] for i in range(len(fast.lines))] == [lines[k] for k in fast.line_given]
