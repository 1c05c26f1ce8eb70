"""The broker's periodic jobs: awaiting-payment orders expire with their accepted offer; payments left
`pending` by a crash between the provider's charge and recording it are completed, failed or refunded
by asking the provider; the server runs both in the background and `gateway broker sweep` once; broker
events reach the center's and the institution's webhook subscribers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from adapters.payments.sandbox import SandboxPayments
from contracts.payments import PaymentRequest, PaymentResult
from gateway.app import create_app
from gateway.broker.tables import Application, Offer, Payment
from gateway.broker.workflow import Broker
from gateway.composition import Container
from gateway.db import transaction, utcnow
from gateway.outbox.service import subscribe
from gateway.outbox.tables import OutboxDelivery, OutboxEvent
from ledger import Ledger
from tests.broker.broker_factories import (
    CENTER,
    YUAN,
    add_section,
    bidder_uscc,
    body,
    headers,
    payments,
    seed_market,
)

BIDDER = bidder_uscc(41)


class Crash(BaseException):
    """The process dies here (BaseException: no handler on the way recovers from it)."""


class CrashAfterCharge:
    """The real sandbox provider, but the process dies right after the charge went through (or, with
    `before`, right before it was sent)."""

    def __init__(self, inner: SandboxPayments, *, before: bool = False) -> None:
        self.inner, self.before, self.methods = inner, before, inner.methods

    def charge(self, request: PaymentRequest) -> PaymentResult:
        if not self.before:
            self.inner.charge(request)
        raise Crash

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _awaiting_payment(client: TestClient, container: Container, section: str) -> str:
    app = body(
        client.post("/v1/applications", json={"section_code": section}, headers=headers(container, BIDDER))
    )
    bank = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-BANK")
    accepted = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": bank["offer_id"]},
        headers=headers(container, BIDDER),
    )
    assert body(accepted)["status"] == "awaiting_payment"
    return str(app["id"])


def _status(container: Container, application_id: str) -> str:
    with container.sessions() as session:
        app = session.get(Application, application_id)
        assert app is not None
        return app.status


def _payment(container: Container, application_id: str) -> Payment:
    with container.sessions() as session:
        payment = session.scalars(select(Payment).where(Payment.application_id == application_id)).one()
        session.expunge(payment)
        return payment


def _crash_while_paying(container: Container, application_id: str, *, before: bool = False) -> Broker:
    broker = Broker.from_container(container)
    real = payments(container)
    broker.payments = CrashAfterCharge(real, before=before)
    with pytest.raises(Crash):
        broker.pay(bidder=BIDDER, application_id=application_id, method="sandbox")
    broker.payments = real
    assert _payment(container, application_id).status == "pending"
    return broker


def _later(container: Container, minutes: float) -> None:
    container.clock = lambda: datetime.now(UTC) + timedelta(minutes=minutes)


# ------------------------------------------------------------------------- offer expiry


def test_an_unpaid_order_expires_with_its_accepted_offer(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    application_id = _awaiting_payment(client, container, market.section)
    assert Broker.from_container(container).expire_offers() == []  # the offer is still valid
    _later(container, 31)  # sandbox quotes are valid 30 minutes
    paying = client.post(
        f"/v1/applications/{application_id}/payments", json={}, headers=headers(container, BIDDER)
    )
    assert paying.status_code == 409
    assert body(paying)["code"] == "offer_expired"
    assert payments(container).charges == {}
    assert Broker.from_container(container).expire_offers() == [application_id]
    assert _status(container, application_id) == "expired_offer"
    again = client.post(
        "/v1/applications", json={"section_code": market.section}, headers=headers(container, BIDDER)
    )
    assert again.status_code == 201  # the slot is free again


def test_an_order_with_a_payment_in_flight_is_not_expired(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    application_id = _awaiting_payment(client, container, market.section)
    _crash_while_paying(container, application_id)
    _later(container, 31)
    assert Broker.from_container(container).expire_offers() == []
    assert _status(container, application_id) == "awaiting_payment"


# ------------------------------------------------------------------------- payment recovery


def test_a_charge_taken_before_a_crash_is_completed_and_issued(
    client: TestClient, container: Container
) -> None:
    market = seed_market(container, render_letters=False)
    application_id = _awaiting_payment(client, container, market.section)
    broker = _crash_while_paying(container, application_id)
    payment_id = _payment(container, application_id).id
    assert payments(container).charges[payment_id].status == "succeeded"  # the money was taken
    assert broker.recover_payments().completed == []  # too young: may still be in flight
    recovery = broker.recover_payments(grace_s=0)
    assert recovery.completed == [payment_id]
    assert _status(container, application_id) == "issued"
    assert _payment(container, application_id).status == "succeeded"
    book = Ledger(container.engine)
    assert book.balance("platform:premium_clearing").debits_posted == 1_600 * YUAN
    assert book.balance("platform:premium_clearing").debits_pending == 0
    assert book.check().clean
    assert broker.recover_payments(grace_s=0).completed == []  # once only


def test_a_charge_the_provider_never_received_fails_and_can_be_paid_again(
    client: TestClient, container: Container
) -> None:
    market = seed_market(container, render_letters=False)
    application_id = _awaiting_payment(client, container, market.section)
    broker = _crash_while_paying(container, application_id, before=True)
    payment_id = _payment(container, application_id).id
    assert broker.recover_payments(grace_s=0).failed == [payment_id]
    assert _payment(container, application_id).status == "failed"
    assert _status(container, application_id) == "awaiting_payment"
    assert Ledger(container.engine).accounts(prefix="platform:") == []  # nothing held
    paid = client.post(
        f"/v1/applications/{application_id}/payments", json={}, headers=headers(container, BIDDER)
    )
    assert body(paid)["status"] == "issued"


def test_a_declined_charge_before_a_crash_is_failed(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    application_id = _awaiting_payment(client, container, market.section)
    payments(container).behaviour.fail_payers.add(BIDDER)
    broker = _crash_while_paying(container, application_id)
    assert broker.recover_payments(grace_s=0).failed == [_payment(container, application_id).id]
    payment = _payment(container, application_id)
    assert (payment.status, payment.failure_reason) == ("failed", "card declined (sandbox)")
    assert _status(container, application_id) == "awaiting_payment"


def test_money_taken_for_an_order_cancelled_meanwhile_is_refunded(
    client: TestClient, container: Container
) -> None:
    market = seed_market(container, render_letters=False)
    application_id = _awaiting_payment(client, container, market.section)
    broker = _crash_while_paying(container, application_id)
    cancelled = client.post(f"/v1/applications/{application_id}/cancel", headers=headers(container, BIDDER))
    assert body(cancelled)["status"] == "cancelled"
    payment_id = _payment(container, application_id).id
    assert broker.recover_payments(grace_s=0).refunded == [payment_id]
    assert _payment(container, application_id).status == "refunded"
    assert f"rf-{payment_id}" in payments(container).refunds
    assert _status(container, application_id) == "cancelled"
    assert Ledger(container.engine).accounts(prefix="platform:") == []  # never held


def test_an_unavailable_provider_leaves_the_payment_pending(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    application_id = _awaiting_payment(client, container, market.section)
    broker = _crash_while_paying(container, application_id)
    payments(container).behaviour.unavailable = True
    assert broker.recover_payments(grace_s=0).unanswered == [_payment(container, application_id).id]
    assert _payment(container, application_id).status == "pending"
    payments(container).behaviour.unavailable = False
    assert len(broker.recover_payments(grace_s=0).completed) == 1


# ------------------------------------------------------------------------- background loop and CLI


def test_the_server_sweeps_in_the_background(container: Container) -> None:
    market = seed_market(container, render_letters=False)
    with TestClient(create_app(container)) as plain:
        application_id = _awaiting_payment(plain, container, market.section)
    _later(container, 31)
    with TestClient(create_app(container, background_jobs=True)):
        deadline = time.monotonic() + 10
        while _status(container, application_id) != "expired_offer" and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _status(container, application_id) == "expired_offer"


def test_the_server_without_background_jobs_does_not_sweep(container: Container) -> None:
    market = seed_market(container, render_letters=False)
    with TestClient(create_app(container)) as plain:
        application_id = _awaiting_payment(plain, container, market.section)
        _later(container, 31)
        time.sleep(0.3)
    assert _status(container, application_id) == "awaiting_payment"


# ------------------------------------------------------------------------- event audience


def test_a_center_subscriber_receives_guarantee_issued(client: TestClient, container: Container) -> None:
    market = seed_market(container, render_letters=False)
    with transaction(container.sessions) as session:
        center = subscribe(session, party_kind="center", party_code=CENTER, url="http://127.0.0.1:9/c",
                           event_types=("guarantee.*",), now=utcnow(), actor="admin:test").id  # fmt: skip
        other = subscribe(session, party_kind="center", party_code="OTHER-CENTER", url="http://127.0.0.1:9/o",
                          now=utcnow(), actor="admin:test").id  # fmt: skip
        bank = subscribe(session, party_kind="institution", party_code="SBX-BANK", url="http://127.0.0.1:9/b",
                         now=utcnow(), actor="admin:test").id  # fmt: skip
    application_id = _awaiting_payment(client, container, market.section)
    paid = client.post(
        f"/v1/applications/{application_id}/payments", json={}, headers=headers(container, BIDDER)
    )
    number = body(paid)["guarantee_no"]
    with container.sessions() as session:
        delivered = session.execute(
            select(OutboxDelivery.subscription_id, OutboxEvent.type, OutboxEvent.data).join(OutboxEvent)
        ).all()
        events = session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("application.%"))).all()
    to_center = [(type_, data) for sub, type_, data in delivered if sub == center]
    assert [type_ for type_, _ in to_center] == ["guarantee.issued"]
    assert f'"guarantee_no":"{number}"' in to_center[0][1]
    assert not [row for row in delivered if row[0] == other]
    to_bank = {type_ for sub, type_, _ in delivered if sub == bank}
    assert {"application.accepted", "application.paid", "application.issued", "guarantee.issued"} <= to_bank
    # Every broker event names its center; the institution once one is involved.
    assert events
    assert all(event.center_code == CENTER for event in events)
    assert {event.institution_code for event in events if event.type == "application.issued"} == {"SBX-BANK"}


def test_the_sweep_command_runs_the_jobs_once(
    client: TestClient, container: Container, database_url: str, tmp_path: Path
) -> None:
    market = seed_market(container, render_letters=False)
    lapsed = _awaiting_payment(client, container, market.section)
    stale = _awaiting_payment(client, container, add_section(container))
    _crash_while_paying(container, stale, before=True)
    with transaction(container.sessions) as session:
        app = session.get(Application, lapsed)
        assert app is not None
        offer = session.get(Offer, app.accepted_offer_id)
        assert offer is not None
        offer.valid_until = utcnow() - timedelta(seconds=1)
        session.execute(update(Payment).values(created_at=utcnow() - timedelta(hours=1)))
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path / "cli"), "GATEWAY_TOKEN_SECRET": "cli-test",
           "GATEWAY_DATABASE_URL": database_url}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "broker", "sweep"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # The CLI's own sandbox provider never saw the charge: the stale payment fails.
    assert "payments: 0 completed, 1 failed, 0 refunded, 0 provider unavailable" in result.stdout
    assert f"orders expired: 1\n  {lapsed}" in result.stdout
    assert _status(container, lapsed) == "expired_offer"
    assert (_status(container, stale), _payment(container, stale).status) == ("awaiting_payment", "failed")
