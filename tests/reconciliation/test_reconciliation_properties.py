"""Properties: statements in all three formats round-trip through their parsers with every field
reconciliation reads; any split of a refund into statement lines reconciles; nothing matches twice."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.statements import camt053, csv_cn, mt940
from contracts.statements import StatementLine
from gateway.finance.matching import AccountLine, LedgerItem, reconcile
from tests.reconciliation.recon_factories import ESCROW_NO, Row
from tests.reconciliation.recon_factories import camt053 as write_camt053
from tests.reconciliation.recon_factories import csv_cn as write_csv
from tests.reconciliation.recon_factories import mt940 as write_mt940

DAY = date(2026, 3, 5)
references = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
rows = st.lists(
    st.builds(
        Row,
        amount=st.integers(1, 10**11),
        credit=st.booleans(),
        day=st.dates(date(2001, 1, 1), date(2068, 12, 31)),
        bank_ref=references,
        customer_ref=st.one_of(st.just(""), references),
        party=st.text("0123456789", min_size=8, max_size=19),
        name=st.sampled_from(["某建设工程有限公司", "深圳市某某（集团）有限公司", "A&B Co"]),
        reversal=st.booleans(),
    ),
    min_size=1,
    max_size=10,
    unique_by=lambda row: row.bank_ref,
)


def _expected(row: Row) -> tuple[int, str, date, str, bool]:
    return (row.amount, "credit" if row.credit else "debit", row.day, row.bank_ref, row.reversal)


def _got(line: StatementLine) -> tuple[int, str, date, str | None, bool]:
    return (line.amount_minor, line.direction, line.value_date, line.bank_reference, line.is_reversal)


@given(rows)
def test_generated_mt940_round_trips_amount_sign_date_references_and_reversal(given_rows: list[Row]) -> None:
    (statement,) = mt940.parse(write_mt940(given_rows))
    assert statement.account == ESCROW_NO
    assert [_got(line) for line in statement.lines] == [_expected(row) for row in given_rows]
    assert [line.customer_reference for line in statement.lines] == [
        row.customer_ref or "NONREF" for row in given_rows
    ]


@given(rows)
def test_generated_camt053_round_trips_with_counterparty(given_rows: list[Row]) -> None:
    (statement,) = camt053.parse(write_camt053(given_rows))
    assert [_got(line) for line in statement.lines] == [_expected(row) for row in given_rows]
    assert [
        (line.counterparty_account, line.counterparty_name, line.customer_reference)
        for line in statement.lines
    ] == [(row.party, row.name, row.customer_ref or None) for row in given_rows]


@given(rows, st.sampled_from(["gbk", "utf-8", "utf-8-sig"]))
def test_generated_csv_round_trips_in_gbk_and_utf8(given_rows: list[Row], encoding: str) -> None:
    (statement,) = csv_cn.parse(write_csv(given_rows, encoding=encoding))
    assert [_got(line) for line in statement.lines] == [_expected(row) for row in given_rows]
    assert [
        (line.counterparty_account, line.counterparty_name, line.customer_reference)
        for line in statement.lines
    ] == [(row.party, row.name, row.customer_ref or None) for row in given_rows]


def _line(amount: int, k: int, *, reference: str | None, day: date) -> AccountLine:
    return AccountLine(
        ESCROW_NO,
        StatementLine(
            value_date=day,
            amount_minor=amount,
            direction="debit",
            currency="CNY",
            bank_reference=f"BANK-{k}",
            customer_reference=reference,
            counterparty_account="6222000011112222",
            source_location=f"line {k}",
        ),
    )


def _split(total: int, cuts: list[int]) -> list[int]:
    points = sorted({cut % total for cut in cuts if cut % total > 0})
    edges = [0, *points, total]
    return [b - a for a, b in itertools.pairwise(edges)]


@settings(max_examples=200)
@given(
    st.integers(2, 10**10),
    st.lists(st.integers(1, 10**10), max_size=15),
    st.lists(st.integers(-3, 3), min_size=16, max_size=16),
    st.booleans(),
)
def test_any_split_of_a_refund_into_lines_with_its_reference_reconciles(
    total: int, cuts: list[int], drifts: list[int], split_interest: bool
) -> None:
    parts = _split(total, cuts)
    # The refund instruction may be two holds (deposit and interest) under one reference.
    if split_interest and total > 2:
        items = [
            LedgerItem("RF:deposit", total - 1, "debit", "6222000011112222", "x", DAY, bank_reference="RF"),
            LedgerItem("RF:interest", 1, "debit", "6222000011112222", "x", DAY, bank_reference="RF"),
        ]
    else:
        items = [LedgerItem("RF:deposit", total, "debit", "6222000011112222", "x", DAY, bank_reference="RF")]
    lines = [_line(p, k, reference="RF", day=DAY + timedelta(days=drifts[k])) for k, p in enumerate(parts)]
    result = reconcile(lines, items)
    assert not result.unmatched_items
    assert not result.unmatched_lines
    assert sorted(item for match in result.matches for item in match.item_ids) == sorted(
        i.item_id for i in items
    )


@settings(max_examples=200)
@given(st.integers(2, 10**10), st.lists(st.integers(1, 10**10), min_size=1, max_size=4))
def test_a_refund_split_into_up_to_five_lines_without_its_reference_reconciles_by_counterparty(
    total: int, cuts: list[int]
) -> None:
    parts = _split(total, cuts)
    item = LedgerItem("RF:deposit", total, "debit", "6222000011112222", "x", DAY, bank_reference="RF")
    lines = [_line(p, k, reference=None, day=DAY + timedelta(days=k % 3)) for k, p in enumerate(parts)]
    result = reconcile(lines, [item])
    assert not result.unmatched_items
    assert not result.unmatched_lines


@given(rows, st.integers(0, 10))
def test_a_statement_imported_twice_matches_nothing_twice(given_rows: list[Row], repeat: int) -> None:
    (statement,) = csv_cn.parse(write_csv(given_rows))
    lines = [AccountLine(statement.account, line) for line in statement.lines]
    items = [
        LedgerItem(
            f"T{k}",
            row.amount,
            "credit" if row.credit else "debit",
            row.party,
            row.name,
            row.day,
            bank_reference=row.bank_ref if k % 2 else None,
        )
        for k, row in enumerate(given_rows)
    ]
    first = reconcile(lines + lines[:repeat], items)  # the same lines twice in one run
    matched_keys = [key for match in first.matches for key in match.line_keys]
    matched_ids = [item_id for match in first.matches for item_id in match.item_ids]
    assert len(matched_keys) == len(set(matched_keys))
    assert len(matched_ids) == len(set(matched_ids))
    second = reconcile(lines, items, matched_item_ids=set(matched_ids), matched_line_keys=set(matched_keys))
    assert second.matches == ()
