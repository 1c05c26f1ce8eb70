"""Reconciliation at a million lines: one row per match, a digest for the line key, no foreign keys on
the bulk columns.

- `recon_matches.transfer_id` (unique): the item of a match with exactly one. Existing matches with one
  `recon_items` row get it here and lose that row; matches with several items and written-off items
  keep theirs.
- `recon_statement_lines.line_key` (text up to 400 characters, in the unique index) becomes
  `line_digest`: the first 16 bytes of SHA-256 over the same key, computed here for stored lines.
- `ix_recon_matches_center_code` dropped: nothing reads matches by center (by run, or by id).
- The open lines' index holds only open lines (partial, `WHERE status = 'open'`), by (center, id).
- Foreign keys dropped: lines -> imports and -> matches, matches -> runs, items -> matches. The code
  writes these ids from rows it inserts in the same transaction (see gateway/reconciliation/tables.py).

Downgrade restores the old shape: the key is rebuilt from the line's own columns (it is made of them),
one-item matches get their `recon_items` row back.

Revision ID: 0014_recon_match_rows
Revises: 0013_claim_deadline_provisional
Create Date: 2026-11-22
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014_recon_match_rows"
down_revision = "0013_claim_deadline_provisional"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    # Children first: SQLite rebuilds a table to change its constraints, and may not drop a table that
    # another one still refers to.
    connection = op.get_bind()
    with op.batch_alter_table("recon_items") as batch:
        batch.drop_constraint("fk_recon_items_match_id_recon_matches", type_="foreignkey")
    with op.batch_alter_table("recon_statement_lines") as batch:
        batch.add_column(sa.Column("line_digest", sa.LargeBinary(16), nullable=True))
        batch.drop_constraint("fk_recon_statement_lines_import_id_recon_imports", type_="foreignkey")
        batch.drop_constraint("fk_recon_statement_lines_match_id_recon_matches", type_="foreignkey")
    _update(
        connection,
        "UPDATE recon_statement_lines SET line_digest = :digest WHERE id = :id",
        (
            {"id": line_id, "digest": hashlib.sha256(key.encode()).digest()[:16]}
            for line_id, key in connection.execute(sa.text("SELECT id, line_key FROM recon_statement_lines"))
        ),
    )
    op.drop_index("ix_recon_statement_lines_open", table_name="recon_statement_lines")
    op.create_index(
        "ix_recon_statement_lines_open",
        "recon_statement_lines",
        ["center_code", "id"],
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    with op.batch_alter_table("recon_statement_lines") as batch:
        batch.drop_constraint("uq_recon_statement_lines_key", type_="unique")
        batch.alter_column("line_digest", existing_type=sa.LargeBinary(16), nullable=False)
        batch.drop_column("line_key")
        batch.create_unique_constraint("uq_recon_statement_lines_digest", ["center_code", "line_digest"])

    with op.batch_alter_table("recon_matches") as batch:
        batch.add_column(sa.Column("transfer_id", sa.String(160), nullable=True))
        batch.drop_constraint("fk_recon_matches_run_id_recon_runs", type_="foreignkey")
    # A match with exactly one item row names it itself; that row goes.
    connection.execute(
        sa.text(
            "UPDATE recon_matches SET transfer_id = "
            "(SELECT i.transfer_id FROM recon_items i WHERE i.match_id = recon_matches.id) "
            "WHERE (SELECT count(*) FROM recon_items i WHERE i.match_id = recon_matches.id) = 1"
        )
    )
    connection.execute(
        sa.text(
            "DELETE FROM recon_items WHERE match_id IN "
            "(SELECT id FROM recon_matches WHERE transfer_id IS NOT NULL)"
        )
    )
    with op.batch_alter_table("recon_matches") as batch:
        batch.create_unique_constraint("uq_recon_matches_transfer_id", ["transfer_id"])
    op.drop_index("ix_recon_matches_center_code", table_name="recon_matches")


def downgrade() -> None:
    # Parents first: their children get their foreign keys back after them.
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "INSERT INTO recon_items (transfer_id, center_code, status, match_id, note, created_at) "
            "SELECT transfer_id, center_code, 'matched', id, NULL, created_at FROM recon_matches "
            "WHERE transfer_id IS NOT NULL"
        )
    )
    op.create_index("ix_recon_matches_center_code", "recon_matches", ["center_code"])
    with op.batch_alter_table("recon_matches") as batch:
        batch.drop_constraint("uq_recon_matches_transfer_id", type_="unique")
        batch.drop_column("transfer_id")
        batch.create_foreign_key("fk_recon_matches_run_id_recon_runs", "recon_runs", ["run_id"], ["id"])
    with op.batch_alter_table("recon_items") as batch:
        batch.create_foreign_key(
            "fk_recon_items_match_id_recon_matches", "recon_matches", ["match_id"], ["id"]
        )
    with op.batch_alter_table("recon_statement_lines") as batch:
        batch.add_column(sa.Column("line_key", sa.String(400), nullable=True))
    rows = connection.execute(
        sa.text(
            "SELECT id, account, value_date, direction, amount_fen, bank_reference, source_location "
            "FROM recon_statement_lines"
        )
    )
    _update(
        connection,
        "UPDATE recon_statement_lines SET line_key = :key WHERE id = :id",
        ({"id": row[0], "key": _key(*row[1:])} for row in rows),
    )
    op.drop_index("ix_recon_statement_lines_open", table_name="recon_statement_lines")
    op.create_index("ix_recon_statement_lines_open", "recon_statement_lines", ["center_code", "status"])
    with op.batch_alter_table("recon_statement_lines") as batch:
        batch.drop_constraint("uq_recon_statement_lines_digest", type_="unique")
        batch.drop_column("line_digest")
        batch.alter_column("line_key", existing_type=sa.String(400), nullable=False)
        batch.create_unique_constraint("uq_recon_statement_lines_key", ["center_code", "line_key"])
        batch.create_foreign_key(
            "fk_recon_statement_lines_import_id_recon_imports", "recon_imports", ["import_id"], ["id"]
        )
        batch.create_foreign_key(
            "fk_recon_statement_lines_match_id_recon_matches", "recon_matches", ["match_id"], ["id"]
        )


def _key(account: str, value_date: Any, direction: str, amount: int, reference: str | None, at: str) -> str:
    """`gateway.finance.matching.AccountLine.key` as of this revision, from a stored line."""
    day = value_date if isinstance(value_date, str) else value_date.isoformat()
    tail = f"ref:{reference}" if reference else f"at:{at}"
    return f"{account}|{day[:10]}|{direction}|{amount}|{tail}"


def _update(connection: sa.Connection, statement: str, rows: Iterable[dict[str, Any]]) -> None:
    for chunk in _chunks(list(rows)):
        connection.execute(sa.text(statement), chunk)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]
