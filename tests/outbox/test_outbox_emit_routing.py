"""`emit_all`: events of several types and audiences in one call reach exactly the active, matching
subscriptions of their audience, and the subscriptions are read once per transaction (on PostgreSQL
inside the events' INSERT). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select, update

from gateway.audit import service as audit
from gateway.composition import Container
from gateway.db import transaction, utcnow
from gateway.outbox.service import Audience, emit, emit_all, subscribe
from gateway.outbox.tables import OutboxDelivery, OutboxEvent, WebhookSubscription


def _subscribe(container: Container, kind: str, code: str, *types: str) -> str:
    with transaction(container.sessions) as session:
        return subscribe(
            session,
            party_kind=kind,
            party_code=code,
            url=f"http://127.0.0.1:9/{kind}/{code}",
            event_types=types,
            now=utcnow(),
            actor="admin:test",
        ).id


@contextmanager
def _statements(container: Container) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE, sent as a statement
            seen.append(statement)

    event.listen(container.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(container.engine, "before_cursor_execute", record)


def test_mixed_events_reach_exactly_the_matching_active_subscriptions(container: Container) -> None:
    center_all = _subscribe(container, "center", "C1", "guarantee.*")
    institution = _subscribe(container, "institution", "BANK", "application.paid", "guarantee.issued")
    _subscribe(container, "center", "C2", "*")  # another center: not in any audience below
    inactive = _subscribe(container, "institution", "BANK", "*")
    with transaction(container.sessions) as session:
        session.execute(
            update(WebhookSubscription).where(WebhookSubscription.id == inactive).values(active=False)
        )

    with transaction(container.sessions) as session:
        written = emit_all(
            session,
            [
                ("guarantee.issued", {"n": 1}, Audience("C1", "BANK")),  # both subscriptions
                ("application.paid", {"n": 2}, Audience("C1", "BANK")),  # the institution only
                ("application.quoting", {"n": 3}, Audience("C1", None)),  # nobody
                ("guarantee.released", {"n": 4}, Audience("C1", "OTHER")),  # the center only
            ],
        )
    with container.sessions() as session:
        stored = {e.event_id: e for e in session.scalars(select(OutboxEvent))}
        deliveries = {(d.outbox_id, d.subscription_id) for d in session.scalars(select(OutboxDelivery))}
    assert [stored[e.event_id].id for e in written] == [e.id for e in written]
    assert [stored[e.event_id].type for e in written] == [
        "guarantee.issued", "application.paid", "application.quoting", "guarantee.released",
    ]  # fmt: skip
    ids = [e.id for e in written]
    assert deliveries == {
        (ids[0], center_all),
        (ids[0], institution),
        (ids[1], institution),
        (ids[3], center_all),
    }


def test_subscriptions_are_read_once_per_transaction(container: Container) -> None:
    _subscribe(container, "center", "C1", "*")
    postgresql = container.engine.dialect.name == "postgresql"
    with transaction(container.sessions) as session, _statements(container) as seen:
        emit(session, "guarantee.issued", {"n": 1}, center="C1")
        first = len(seen)
        emit(session, "guarantee.released", {"n": 2}, center="C1")
    reads = [s for s in seen if "FROM webhook_subscriptions" in s]
    assert len(reads) == 1
    # PostgreSQL: the read rides on the INSERT (1 statement) + the deliveries; SQLite: read, INSERT,
    # deliveries. The second emit only writes (its event and its delivery).
    assert first == (2 if postgresql else 3)
    assert len(seen) - first == 2
    with container.sessions() as session:
        assert len(session.scalars(select(OutboxDelivery)).all()) == 2


def test_an_event_without_subscribers_is_one_statement_on_postgresql(container: Container) -> None:
    with transaction(container.sessions) as session, _statements(container) as seen:
        written = emit(session, "guarantee.issued", {"n": 1}, center="NOBODY")
    assert len(seen) == (1 if container.engine.dialect.name == "postgresql" else 2)
    with container.sessions() as session:
        assert session.scalar(select(OutboxEvent.id).where(OutboxEvent.event_id == written.event_id))
        assert session.scalars(select(OutboxDelivery)).all() == []


def test_rows_alongside_are_written_with_the_events(container: Container) -> None:
    """`alongside` (the audit records of the change): on PostgreSQL in the events' own statement; once
    the transaction knows its subscriptions, or on SQLite, as an INSERT of their own."""
    postgresql = container.engine.dialect.name == "postgresql"
    with transaction(container.sessions) as session:
        first = audit.chained(session, [audit.Entry("t", "test.one", "test", "1")], at=utcnow())
        with _statements(container) as seen:
            emit(session, "guarantee.issued", {"n": 1}, center="NOBODY")  # warms nothing: other party
            before = len(seen)
        with _statements(container) as seen:
            emit_all(session, [("guarantee.issued", {"n": 2}, Audience("C9"))], alongside=[first])
        assert len(seen) == (1 if postgresql else 3)  # SQLite: the audit INSERT, the read, the event
        second = audit.chained(session, [audit.Entry("t", "test.two", "test", "2")], at=utcnow())
        with _statements(container) as seen:
            emit_all(session, [("guarantee.released", {"n": 3}, Audience("C9"))], alongside=[second])
        assert len(seen) == 2  # subscriptions known: the audit INSERT, then the event
    assert before == (1 if postgresql else 2)
    with container.sessions() as session:
        result = audit.verify(session)
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 3
    assert result.ok, result.breaks
    assert result.records == 2
