"""Audit: on PostgreSQL, take the chain's lock and read its head in one round trip.

`gateway.audit.service` appends under a transaction-scoped advisory lock and chains each record on
the newest one. That was two statements per appending transaction (the lock, then the head read);
`audit_chain_head()` does both in one call. It must be a VOLATILE PL/pgSQL function, not one plain
statement: under READ COMMITTED a statement's snapshot is taken when it starts, so a
`SELECT ... FROM audit_log` that also waited for the lock would not see the record that the previous
holder committed while it waited, and would chain on a stale head. A VOLATILE function takes a fresh
snapshot for each statement inside it, so its head read starts after the lock is granted. SQLite
(one writer at a time, BEGIN IMMEDIATE) needs nothing.

Revision ID: 0018_audit_chain_head
Revises: 0017_guarantees_section_index
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0018_audit_chain_head"
down_revision = "0017_guarantees_section_index"
branch_labels = None
depends_on = None

# 7361001: the advisory lock id the audit chain has always used (arbitrary, constant); a process still
# running older code takes the same lock on its own, so old and new appenders exclude each other.
FUNCTION = """
CREATE OR REPLACE FUNCTION audit_chain_head(OUT head_seq bigint, OUT head_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7361001);
    SELECT seq, hash INTO head_seq, head_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head()")
