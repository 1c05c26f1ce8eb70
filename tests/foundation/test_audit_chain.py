"""The audit log is append-only and hash-chained: any edit or deletion is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.audit import service as audit
from gateway.composition import Container
from gateway.context import request_id_var


def _append_three(container: Container) -> None:
    with container.sessions() as session, session.begin():
        token = request_id_var.set("req-42")
        try:
            audit.append(
                session,
                actor="bidder:91X",
                action="order.created",
                object_type="order",
                object_id="o1",
                after={"status": "draft", "amount_fen": 100},
            )
            audit.append(
                session,
                actor="bidder:91X",
                action="order.accepted",
                object_type="order",
                object_id="o1",
                before={"status": "offered"},
                after={"status": "awaiting_payment"},
            )
        finally:
            request_id_var.reset(token)
    with container.sessions() as session, session.begin():
        audit.append(
            session,
            actor="operator:alice",
            action="order.cancelled",
            object_type="order",
            object_id="o1",
            before={"status": "awaiting_payment"},
            after={"status": "cancelled"},
        )


def _verify(container: Container) -> audit.VerifyResult:
    with container.sessions() as session:
        return audit.verify(session)


def _disable_guard(container: Container) -> None:
    """What an attacker with database rights would do first."""
    with container.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_chain_verifies_and_records_request_id(container: Container) -> None:
    _append_three(container)
    result = _verify(container)
    assert result.ok
    assert (result.records, result.head_seq) == (3, 3)
    with container.sessions() as session:
        rows = session.execute(
            text("SELECT seq, request_id, prev_hash, hash FROM audit_log ORDER BY seq")
        ).all()
    assert [row.request_id for row in rows] == ["req-42", "req-42", None]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash
    assert result.head_hash == rows[2].hash


def test_database_refuses_update_and_delete(container: Container) -> None:
    _append_three(container)
    for statement in (
        "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"), container.engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(container).ok


def test_edited_record_is_detected(container: Container) -> None:
    _append_three(container)
    _disable_guard(container)
    with container.engine.begin() as connection:
        connection.execute(text('UPDATE audit_log SET after = \'{"status":"paid"}\' WHERE seq = 2'))
    result = _verify(container)
    assert not result.ok
    assert [(b.seq, b.problem) for b in result.breaks] == [
        (2, "record content does not match its hash (edited)")
    ]


def test_deleted_record_is_detected(container: Container) -> None:
    _append_three(container)
    _disable_guard(container)
    with container.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = _verify(container)
    assert {b.seq for b in result.breaks} == {3}
    assert any("missing" in b.problem for b in result.breaks)


def test_rehashed_edit_still_breaks_the_link_to_the_next_record(container: Container) -> None:
    _append_three(container)
    _disable_guard(container)
    with container.sessions() as session, session.begin():
        record = session.get(audit.AuditRecord, 2)
        assert record is not None
        record.actor = "someone-else"
        record.hash = audit.record_hash(record.prev_hash, record)
    result = _verify(container)
    assert [b.seq for b in result.breaks] == [3]
