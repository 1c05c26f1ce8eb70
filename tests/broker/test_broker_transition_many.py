"""`transition_many` (the bulk LOCK at bid opening) writes what `transition` writes per order: the
state, one chained audit record and one `application.<status>` event (with its deliveries) each."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from gateway.audit import service as audit
from gateway.broker import errors
from gateway.broker import service as broker
from gateway.broker.machine import Event
from gateway.broker.tables import Application
from gateway.composition import Container
from gateway.db import transaction
from gateway.outbox.service import subscribe
from gateway.outbox.tables import OutboxDelivery, OutboxEvent
from tests.broker.broker_factories import CENTER, bidder_uscc, seed_market

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def _orders(container: Container, statuses: list[str]) -> list[str]:
    market = seed_market(container, render_letters=False)
    ids = []
    with transaction(container.sessions) as session:
        for n, status in enumerate(statuses):
            uscc = bidder_uscc(900 + n)
            app = Application(
                id=f"ap_bulk{n:03d}", bidder_uscc=uscc, bidder_name="批量测试有限公司",
                section_code=market.section, center_code=CENTER, product="bid", amount_fen=100,
                cover_start=date(2026, 12, 1), cover_end=date(2027, 3, 1), status=status,
                live_slot=f"{uscc}:{market.section}:bid", institution_code="SBX-BANK", premium_fen=10,
                guarantee_no=f"BULK{n:04d}", version=1, created_at=NOW, updated_at=NOW,
            )  # fmt: skip
            session.add(app)
            ids.append(app.id)
        subscribe(session, party_kind="institution", party_code="SBX-BANK", url="http://127.0.0.1:9/hook",
                  now=NOW, actor="admin:test")  # fmt: skip
    return ids


def test_many_orders_lock_with_an_audit_record_and_an_event_each(container: Container) -> None:
    ids = _orders(container, ["issued"] * 5)
    with transaction(container.sessions) as session:
        before = audit.count(session)
        apps = list(
            session.scalars(select(Application).where(Application.id.in_(ids)).order_by(Application.id))
        )
        broker.transition_many(session, apps, Event.LOCK, actor="center:T", now=NOW, reason="opening")
    with container.sessions() as session:
        rows = list(session.scalars(select(Application).where(Application.id.in_(ids))))
        assert {(r.status, r.version, r.status_reason) for r in rows} == {("locked", 2, "opening")}
        records = list(session.scalars(select(audit.AuditRecord).where(audit.AuditRecord.seq > before)))
        assert [(r.action, r.object_id) for r in records] == [("application.lock", i) for i in ids]
        assert {json.loads(r.before or "")["status"] for r in records} == {"issued"}
        assert {json.loads(r.after or "")["status"] for r in records} == {"locked"}
        assert audit.verify(session).ok
        events = list(session.scalars(select(OutboxEvent).where(OutboxEvent.type == "application.locked")))
        assert sorted(json.loads(e.data)["application_id"] for e in events) == ids
        assert {(e.center_code, e.institution_code) for e in events} == {(CENTER, "SBX-BANK")}
        deliveries = session.scalars(select(OutboxDelivery.outbox_id)).all()
        assert sorted(deliveries) == sorted(e.id for e in events)


def test_one_refused_order_refuses_the_whole_batch(container: Container) -> None:
    ids = _orders(container, ["issued", "draft", "issued"])
    with transaction(container.sessions) as session:
        before = audit.count(session)
    with transaction(container.sessions) as session:
        apps = list(
            session.scalars(select(Application).where(Application.id.in_(ids)).order_by(Application.id))
        )
        with pytest.raises(errors.InvalidTransition):
            broker.transition_many(session, apps, Event.LOCK, actor="center:T", now=NOW)
        # nothing written before the refusal: the transaction commits what is left, which is nothing
        assert [app.status for app in apps] == ["issued", "draft", "issued"]
    with container.sessions() as session:
        assert audit.count(session) == before
        assert set(session.scalars(select(Application.status).where(Application.id.in_(ids)))) == {
            "issued", "draft"}  # fmt: skip
