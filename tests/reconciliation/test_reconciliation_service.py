"""Import and reconcile against the ledger: reference, counterparty and returned refunds; posts and voids
the holds; re-import matches nothing twice; a bad file changes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from gateway.composition import Container, statement_parsers
from gateway.db import transaction
from gateway.reconciliation import repository, service
from gateway.reconciliation.errors import ResolutionRefused, StatementRejected
from gateway.reconciliation.settlement import LedgerSettle
from gateway.reconciliation.tables import ItemState, Match, StatementLineRow
from ledger import Ledger
from tests.reconciliation.recon_factories import CENTER, WRITERS, Row, book_of, deposit, refund

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
DAY = date(2026, 3, 5)


def seed(container: Container) -> None:
    with transaction(container.sessions) as session:
        deposit(session, "dep-1", 100_000_00, ref="BR1", party="6222000000000001", day=DAY)
        deposit(session, "dep-2", 200_000_00, ref="BR2", party="6222000000000002", day=DAY)
        deposit(session, "dep-3", 50_000_00, ref="BR3", party="6222000000000003", day=DAY, section="S2")
        refund(session, "RF1", 100_000_00, 350_00, party="6222000000000001", day=DAY)
        refund(session, "RF2", 50_000_00, 0, party="6222000000000003", day=DAY, section="S2")


STATEMENT = [
    Row(100_000_00, True, DAY, "BR1", party="6222000000000001"),
    Row(200_000_00, True, date(2026, 3, 7), "BANK-77", party="6222000000000002"),  # reference lost
    Row(50_000_00, True, DAY, "BR3", party="6222000000000003"),
    Row(100_350_00, False, date(2026, 3, 6), "BANK-81", customer_ref="RF1", party="6222000000000001"),
    Row(50_000_00, False, date(2026, 3, 6), "BANK-82", customer_ref="RF2", party="6222000000000003"),
    Row(
        50_000_00,
        True,
        date(2026, 3, 8),
        "BANK-90",
        customer_ref="RF2",
        party="6222000000000003",
        reversal=True,
    ),
    Row(777, True, date(2026, 3, 8), "BANK-99", party="6222999999999999"),  # unknown credit
]


def run(container: Container, data: bytes, fmt: str) -> service.ImportResult:
    statements = service.parse_statement(statement_parsers(), data, fmt)
    with transaction(container.sessions) as session:
        return service.import_and_reconcile(
            session, center=CENTER, statements=statements, data=data, fmt=fmt, filename=f"s.{fmt}",
            actor="finance:SZGGZY", now=NOW, settle=LedgerSettle(),
        )  # fmt: skip


def hold_states(container: Container) -> dict[str, str]:
    with container.sessions() as session:
        book = book_of(session)
        return {hold: _resolution(book, hold) for hold in ("RF1:deposit", "RF1:interest", "RF2:deposit")}


def _resolution(book: Ledger, hold: str) -> str:
    for prefix in ("recon-post:", "recon-void:"):
        found = book.get_transfer(f"{prefix}{hold}")
        if found is not None:
            return str(found.kind)
    return "open"


@pytest.mark.parametrize("fmt", ["csv", "camt053", "mt940"])
def test_statement_posts_the_paid_refund_voids_the_returned_one_and_flags_the_unknown_credit(
    container: Container, fmt: str
) -> None:
    seed(container)
    result = run(container, WRITERS[fmt](STATEMENT), fmt)
    summary = result.run
    # MT940 carries no counterparty account, so the line whose reference was lost stays open there.
    lost = fmt == "mt940"
    assert summary.unmatched_lines == 1 + lost
    assert summary.unmatched_items == lost
    assert summary.refunds_posted == 2
    assert summary.refunds_voided == 1
    assert hold_states(container) == {"RF1:deposit": "post", "RF1:interest": "post", "RF2:deposit": "void"}
    with container.sessions() as session:
        open_refs = set(
            session.scalars(select(StatementLineRow.bank_reference).where(StatementLineRow.status == "open"))
        )
        assert open_refs == ({"BANK-99", "BANK-77"} if lost else {"BANK-99"})
        assert book_of(session).check().clean

    again = run(container, WRITERS[fmt](STATEMENT), fmt).run
    assert (again.matches, again.matched_lines, again.refunds_posted) == (0, 0, 0)
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StatementLineRow)) == len(STATEMENT)
        # Closed: the item of each one-item match on its match row, the rest (RF1's two holds) as item states.
        one_item = select(func.count()).select_from(Match).where(Match.transfer_id.is_not(None))
        states = select(func.count()).select_from(ItemState)
        assert (session.scalar(one_item), session.scalar(states)) == (4 - lost, 2)
        assert repository.dangling_references(session) == []


def test_a_late_ledger_item_matches_a_line_left_open_by_an_earlier_run(container: Container) -> None:
    data = WRITERS["csv"]([Row(300_00, True, DAY, "BANK-5", party="6222000000000005")])
    first = run(container, data, "csv").run
    assert first.unmatched_lines == 1
    with transaction(container.sessions) as session:
        deposit(session, "dep-late", 300_00, ref="BR-late", party="6222000000000005", day=DAY)
    second = run(container, WRITERS["csv"]([]), "csv").run
    assert (second.matches, second.unmatched_lines, second.unmatched_items) == (1, 0, 0)


@pytest.mark.parametrize(
    ("fmt", "data", "where"),
    [
        ("csv", WRITERS["csv"](STATEMENT).replace(b'"7.77"', b'"7.771"'), "line 9 column 贷方发生额"),
        ("camt053", WRITERS["camt053"](STATEMENT)[:-40], "line 1 column"),
        ("mt940", WRITERS["mt940"](STATEMENT).replace(b":61:260308RD", b":61:260308XD"), "line 15"),
    ],
)
def test_a_bad_file_is_refused_at_its_place_and_changes_nothing(
    container: Container, fmt: str, data: bytes, where: str
) -> None:
    seed(container)
    with pytest.raises(StatementRejected) as caught:
        run(container, data, fmt)
    assert caught.value.extra["location"].startswith(where)
    assert hold_states(container) == {"RF1:deposit": "open", "RF1:interest": "open", "RF2:deposit": "open"}
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StatementLineRow)) == 0


def test_a_manual_match_of_several_items_closes_each_once_across_both_closing_tables(
    container: Container,
) -> None:
    with transaction(container.sessions) as session:
        deposit(session, "dep-a", 100_00, ref="BR-a", party="6222000000000011", day=DAY)
        deposit(session, "dep-b", 200_00, ref="BR-b", party="6222000000000012", day=DAY)
        deposit(session, "dep-c", 400_00, ref="BR-c", party="6222000000000013", day=DAY)
    rows = [
        Row(300_00, True, DAY, "BANK-1", party="6222999900000001"),
        Row(400_00, True, DAY, "BANK-2", party="6222999900000002"),
    ]
    first = run(container, WRITERS["csv"](rows), "csv").run
    assert (first.matches, first.unmatched_lines, first.unmatched_items) == (0, 2, 3)
    with container.sessions() as session:
        ids = dict(session.execute(select(StatementLineRow.bank_reference, StatementLineRow.id)).all())
    with transaction(container.sessions) as session:
        several = service.manual_match(
            session, center=CENTER, line_ids=[ids["BANK-1"]], transfer_ids=["dep-a", "dep-b"],
            note="one payment", returned=False, actor="finance:SZGGZY", now=NOW, settle=LedgerSettle(),
        )  # fmt: skip
        one = service.manual_match(
            session, center=CENTER, line_ids=[ids["BANK-2"]], transfer_ids=["dep-c"], note="same payer",
            returned=False, actor="finance:SZGGZY", now=NOW, settle=LedgerSettle(),
        )  # fmt: skip
    assert (several.transfer_id, one.transfer_id) == (None, "dep-c")
    with container.sessions() as session:
        states = session.execute(select(ItemState.transfer_id, ItemState.match_id)).all()
        assert sorted(tuple(row) for row in states) == [("dep-a", several.id), ("dep-b", several.id)]
        assert repository.escrow_items(session, CENTER) == []
        assert repository.dangling_references(session) == []
    for closed in ("dep-a", "dep-c"):  # closed in recon_items, and on a match row
        with pytest.raises(ResolutionRefused), transaction(container.sessions) as session:
            service.write_off_item(session, center=CENTER, transfer_id=closed, reason="twice", now=NOW)
    later = run(container, WRITERS["csv"](rows), "csv")
    assert (later.lines_new, later.run.matches, later.run.items_considered) == (0, 0, 0)
