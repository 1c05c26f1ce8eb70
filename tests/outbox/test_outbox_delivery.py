"""Webhooks reach a real receiver process: through failures, slow answers and the receiver going down
and up; dead letters come back with redeliver. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from gateway.composition import Container
from gateway.db import transaction
from gateway.outbox.delivery import Deliverer
from gateway.outbox.service import emit, redeliver, redeliver_dead
from gateway.outbox.tables import OutboxDelivery, OutboxEvent
from gateway.outbox.worker import drain, outstanding
from tests.outbox.conftest import CENTER, Clock, Receiver, emit_events, statuses, subscribe_center

HOUR_S = 3600.0


def drain_until_settled(deliverer: Deliverer, clock: Clock, container: Container, rounds: int = 30) -> int:
    """Drain; while anything is left, jump the clock an hour so retries are due. Returns rounds used."""
    for used in range(1, rounds + 1):
        drain(deliverer)
        if outstanding(container.sessions)[0] == 0:
            return used
        clock.advance(HOUR_S)
    raise AssertionError(f"still outstanding after {rounds} rounds: {statuses(container.sessions)}")


def test_every_event_arrives_signed_despite_failures_and_slow_answers(
    container: Container, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    # Given a center subscribed with a receiver that fails 3 times, then answers 2 too slowly
    receiver.start(fail_first=3, slow_first=2, slow_seconds=1.5)
    subscribe_center(container.sessions, receiver.url)
    events = emit_events(container.sessions, 12)

    # When the outbox is drained (retries made due by the clock)
    drain_until_settled(deliverer, clock, container)

    # Then every event was answered 200 at least once, every request carried a valid signature ...
    assert set(receiver.accepted()) == set(events)
    assert all(entry["signature_ok"] for entry in receiver.entries())
    # ... the receiver saw duplicates (the slow answers timed out and were sent again) ...
    assert len(receiver.entries()) >= len(events) + 5
    # ... and nothing is left in the outbox to deliver
    assert statuses(container.sessions) == {"delivered": 12}
    with container.sessions() as session:
        assert all(e.delivered_at is not None for e in session.scalars(select(OutboxEvent)))


def test_a_receiver_that_goes_down_gets_everything_when_it_comes_back(
    container: Container, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    receiver.start()
    subscribe_center(container.sessions, receiver.url)
    receiver.stop()
    events = emit_events(container.sessions, 5)

    down = drain(deliverer)
    assert (down.claimed, down.retrying, down.delivered) == (5, 5, 0)
    assert statuses(container.sessions) == {"pending": 5}
    with container.sessions() as session:
        errors = set(session.scalars(select(OutboxDelivery.last_error)))
    assert all(error and error.startswith("ConnectError") for error in errors), errors
    assert not drain(deliverer).claimed  # not due again yet

    receiver.start()
    clock.advance(HOUR_S)
    up = drain(deliverer)
    assert up.delivered == 5
    assert receiver.accepted() == dict.fromkeys(events, 1)
    assert outstanding(container.sessions)[0] == 0


def test_a_delivery_is_dead_after_a_day_of_failures_and_redeliver_brings_it_back(
    container: Container, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    receiver.start(fail_first=10**6)
    subscribe_center(container.sessions, receiver.url)
    [event_id] = emit_events(container.sessions, 1)

    for _ in range(40):
        drain(deliverer)
        if statuses(container.sessions) == {"dead": 1}:
            break
        clock.advance(2 * HOUR_S)
    assert statuses(container.sessions) == {"dead": 1}
    with container.sessions() as session:
        dead = session.scalars(select(OutboxDelivery)).one()
    assert dead.attempts >= 12
    assert dead.last_error is not None
    assert dead.last_error.startswith("HTTP 500")
    assert outstanding(container.sessions)[0] == 0
    assert not drain(deliverer).claimed  # dead letters are left alone

    # The receiver is fixed; an operator redelivers
    receiver.stop()
    receiver.start()
    with transaction(container.sessions) as session:
        [again] = redeliver(session, event_id, now=clock(), actor="admin:test")
        assert (again.status, again.attempts) == ("pending", 0)
    assert drain(deliverer).delivered == 1
    assert receiver.accepted() == {event_id: 1}
    assert statuses(container.sessions) == {"delivered": 1}


def test_redeliver_all_dead_restarts_only_dead_letters(
    container: Container, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    receiver.start()
    subscribe_center(container.sessions, receiver.url)
    emit_events(container.sessions, 3)
    with transaction(container.sessions) as session:
        first = session.scalars(select(OutboxDelivery).order_by(OutboxDelivery.id)).first()
        assert first is not None
        first.status = "dead"
    with transaction(container.sessions) as session:
        assert redeliver_dead(session, now=clock(), actor="admin:test") == 1
    assert statuses(container.sessions) == {"pending": 3}
    assert drain(deliverer).delivered == 3


def test_events_go_to_the_subscriptions_of_their_audience_and_types(
    container: Container, receiver: Receiver, deliverer: Deliverer
) -> None:
    receiver.start()
    subscribe_center(container.sessions, receiver.url, "guarantee.*")
    with transaction(container.sessions) as session:
        issued = emit(session, "guarantee.issued", {"guarantee_no": "G1"}, center=CENTER)
        emit(session, "deposit.received", {"amount_fen": 100}, center=CENTER)  # type not subscribed
        emit(session, "guarantee.issued", {"guarantee_no": "G2"}, center="OTHER")  # not its center
        emit(session, "application.paid", {"application_id": "ap_1"})  # no audience at all
    assert drain(deliverer).delivered == 1
    assert set(receiver.accepted()) == {issued.event_id}
    with container.sessions() as session:
        assert session.scalar(select(OutboxEvent.center_code).where(OutboxEvent.event_id == issued.event_id))
        assert len(session.scalars(select(OutboxDelivery)).all()) == 1


def test_a_lost_lease_does_not_overwrite_the_new_holders_outcome(
    container: Container, receiver: Receiver, clock: Clock
) -> None:
    receiver.start()
    subscribe_center(container.sessions, receiver.url)
    emit_events(container.sessions, 1)
    first = Deliverer(container.sessions, container.signer, clock=clock, worker_id="w1")
    second = Deliverer(container.sessions, container.signer, clock=clock, worker_id="w2")
    try:
        [claimed] = first.claim()
        clock.advance(first.config.lease.total_seconds() + 1)  # w1 stalls past its lease
        [taken] = second.claim()
        assert second.record(taken, second.send(taken)) == "delivered"
        assert first.record(claimed, "timeout: ReadTimeout") is None
    finally:
        first.close()
        second.close()
    assert statuses(container.sessions) == {"delivered": 1}
