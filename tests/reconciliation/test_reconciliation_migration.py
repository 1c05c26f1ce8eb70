"""Migration 0014 on a database holding reconciliation data of the old shape (SQLite and PostgreSQL):
one-item matches take their item from `recon_items`, stored line keys become digests the import finds,
and the downgrade gives the old rows back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from gateway.db import make_engine, make_sessionmaker, normalise_url
from gateway.finance.matching import AccountLine
from gateway.migrate import alembic_config, upgrade
from gateway.reconciliation import repository
from tests.conftest import BACKENDS

BEFORE = "0013_claim_deadline_provisional"
ACCOUNT = "110060149018800012345"
DAY = date(2026, 3, 5)


@pytest.fixture(params=BACKENDS)
def old_database(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A database migrated to the revision before 0014 (its own, so the chain can be walked)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
        upgrade(url, BEFORE)
        yield url
        return
    admin_url = make_url(normalise_url(os.environ["GATEWAY_TEST_POSTGRES_URL"]))
    name = f"gwmig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, BEFORE)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _key(amount: int, reference: str | None, at: str) -> str:
    """The key the importer computed for a credit line (the old column held exactly this)."""
    from contracts.statements import StatementLine

    line = StatementLine.model_construct(
        value_date=DAY, booking_date=None, amount_minor=amount, direction="credit", currency="CNY",
        is_reversal=False, bank_reference=reference, customer_reference=None, transaction_type=None,
        counterparty_name=None, counterparty_account=None, narrative="", source_location=at,
    )  # fmt: skip
    return AccountLine(ACCOUNT, line).key


LINES: list[
    tuple[int, int, str | None, str, str, str | None]
] = [  # id, amount, bank reference, place, status, match
    (1, 100_00, "BR1", "line 3", "matched", "run1.00000001"),
    (2, 300_00, "BR2", "line 4", "matched", "run1.00000002"),
    (3, 700_00, None, "line 5", "open", None),
    (4, 50_00, "BR4", "line 6", "matched", "manual.1"),
]
ITEMS: list[tuple[str, str, str | None]] = [  # transfer, status, match
    ("dep-1", "matched", "run1.00000001"),
    ("rf-2:deposit", "matched", "run1.00000002"),
    ("rf-2:interest", "matched", "run1.00000002"),
    ("dep-4", "matched", "manual.1"),
    ("dep-9", "written_off", None),
]


def _seed_old_shape(url: str) -> None:
    engine = make_engine(url)
    stamp = "2026-03-09 08:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO recon_imports (id, center_code, format, filename, sha256, accounts, "
                "lines_total, lines_new, actor, created_at) "
                "VALUES ('imp1', 'C1', 'csv', 'a.csv', :sha, :account, 4, 4, 'finance', :at)"
            ),
            {"sha": "0" * 64, "account": ACCOUNT, "at": stamp},
        )
        connection.execute(
            text(
                "INSERT INTO recon_runs (id, center_code, import_id, drift_days, lines_considered, "
                "items_considered, matches, matched_lines, matched_items, matched_fen, unmatched_lines, "
                "unmatched_lines_fen, unmatched_items, unmatched_items_fen, refunds_posted, refunds_voided, "
                "actor, created_at) VALUES ('run1', 'C1', 'imp1', 3, 3, 4, 2, 2, 3, 40000, 1, 70000, 1, 0, "
                "1, 0, 'finance', :at)"
            ),
            {"at": stamp},
        )
        matches: list[tuple[str, str | None, str]] = [
            ("run1.00000001", "run1", "reference"),
            ("run1.00000002", "run1", "reference"),
            ("manual.1", None, "manual"),
        ]
        for match_id, run_id, rule in matches:
            connection.execute(
                text(
                    "INSERT INTO recon_matches (id, center_code, run_id, rule, outcome, note, actor, "
                    "created_at) VALUES (:id, 'C1', :run, :rule, 'none', NULL, 'finance', :at)"
                ),
                {"id": match_id, "run": run_id, "rule": rule, "at": stamp},
            )
        for line_id, amount, reference, at, status, line_match in LINES:
            connection.execute(
                text(
                    "INSERT INTO recon_statement_lines (id, center_code, line_key, import_id, account, "
                    "value_date, booking_date, direction, amount_fen, currency, is_reversal, "
                    "bank_reference, customer_reference, counterparty_name, counterparty_account, "
                    "narrative, source_location, status, match_id, note) VALUES (:id, 'C1', :key, 'imp1', "
                    ":account, :day, NULL, 'credit', :amount, 'CNY', false, :ref, NULL, NULL, NULL, '', :at, "
                    ":status, :match, NULL)"
                ),
                {
                    "id": line_id,
                    "key": _key(amount, reference, at),
                    "account": ACCOUNT,
                    "day": DAY,
                    "amount": amount,
                    "ref": reference,
                    "at": at,
                    "status": status,
                    "match": line_match,
                },
            )
        for transfer_id, status, item_match in ITEMS:
            connection.execute(
                text(
                    "INSERT INTO recon_items (transfer_id, center_code, status, match_id, note, created_at) "
                    "VALUES (:id, 'C1', :status, :match, :note, :at)"
                ),
                {
                    "id": transfer_id,
                    "status": status,
                    "match": item_match,
                    "at": stamp,
                    "note": "lost" if item_match is None else None,
                },
            )
    engine.dispose()


def test_upgrade_moves_one_item_matches_and_digests_keys_and_downgrade_restores_them(
    old_database: str,
) -> None:
    url = old_database
    _seed_old_shape(url)
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        named: dict[str, str | None] = dict(
            connection.execute(text("SELECT id, transfer_id FROM recon_matches ORDER BY id")).all()
        )
        assert named == {"manual.1": "dep-4", "run1.00000001": "dep-1", "run1.00000002": None}
        states = connection.execute(text("SELECT transfer_id, match_id FROM recon_items ORDER BY 1")).all()
        assert [tuple(row) for row in states] == [
            ("dep-9", None),
            ("rf-2:deposit", "run1.00000002"),
            ("rf-2:interest", "run1.00000002"),
        ]
        digests: dict[int, bytes] = dict(
            connection.execute(text("SELECT id, line_digest FROM recon_statement_lines")).all()
        )
    assert {line_id: bytes(digest) for line_id, digest in digests.items()} == {
        line_id: repository.line_digest(_key(amount, reference, at))
        for line_id, amount, reference, at, _, _ in LINES
    }
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        # The importer finds the stored lines by the digest of the key it computes for them.
        known = repository.known_digests(session, "C1", DAY, DAY)
        assert known == {repository.line_digest(_key(a, r, at)) for _, a, r, at, _, _ in LINES}
        assert repository.dangling_references(session) == []
    with pytest.raises(IntegrityError), engine.begin() as connection:  # still one line per key
        connection.execute(
            text(
                "INSERT INTO recon_statement_lines (id, center_code, line_digest, import_id, account, "
                "value_date, direction, amount_fen, currency, is_reversal, narrative, source_location, "
                "status) VALUES (9, 'C1', :digest, 'imp1', :account, :day, 'credit', 1, 'CNY', false, '', "
                "'x', 'open')"
            ),
            {"digest": repository.line_digest(_key(100_00, "BR1", "line 3")), "account": ACCOUNT, "day": DAY},
        )
    engine.dispose()

    command.downgrade(alembic_config(url), BEFORE)
    engine = make_engine(url)
    with engine.connect() as connection:
        keys: dict[int, str] = dict(
            connection.execute(text("SELECT id, line_key FROM recon_statement_lines")).all()
        )
        items = connection.execute(text("SELECT transfer_id, status, match_id FROM recon_items ORDER BY 1"))
        assert sorted(tuple(row) for row in items) == sorted(ITEMS)
    engine.dispose()
    assert keys == {line_id: _key(amount, reference, at) for line_id, amount, reference, at, _, _ in LINES}
