"""Claims over the center and partner APIs (SQLite and PostgreSQL): filed by the center of the
guarantee's section within cover and amount, forwarded to the institution (retried while it is down),
decided once, announced to both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from contracts.enums import SurrenderReason
from contracts.institutions import Claim as ClaimMessage
from contracts.institutions import ClaimAck, InstitutionAdapter, InstitutionUnavailable
from gateway.broker.machine import Event
from gateway.broker.service import transition
from gateway.broker.tables import Application
from gateway.broker.workflow import Broker
from gateway.claims.tables import Claim
from gateway.claims.workflow import Claims
from gateway.settings import Settings
from tests.claims.claims_factories import (
    BANK,
    CLAIM_DAY,
    OTHER_CENTER,
    Gateway,
    counts,
    events_of,
    issue_guarantee,
    start_gateway,
    status_of,
)

AMOUNT = 800_000 * 100  # the section's deposit: the guarantee amount


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    yield from start_gateway(settings)


@pytest.fixture
def guarantee_no(gateway: Gateway) -> str:
    number = issue_guarantee(gateway)
    gateway.clock.now = CLAIM_DAY
    return number


class DownInstitution:
    """Wraps a sandbox institution whose claim endpoint is unreachable until `up` is set."""

    def __init__(self, inner: InstitutionAdapter) -> None:
        self.inner = inner
        self.up = False
        self.received: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def claim(self, request: ClaimMessage) -> ClaimAck:
        if not self.up:
            raise InstitutionUnavailable("connection refused")
        self.received.append(request.claim_id)
        return self.inner.claim(request)


def test_center_files_a_claim_that_reaches_the_institution_with_a_business_day_deadline(
    gateway: Gateway, guarantee_no: str
) -> None:
    response = gateway.file_claim(guarantee_no, 500_000 * 100, "  中标人无正当理由拒绝签订合同  ")
    assert response.status_code == 201, response.text
    claim = response.json()
    assert claim["status"] == "open"
    assert claim["amount_fen"] == 500_000 * 100
    assert claim["reason"] == "中标人无正当理由拒绝签订合同"
    # Filed Tuesday 09-29; 10-01..10-07 are holidays and Saturday 10-10 a make-up working day.
    assert claim["decision_due"] == "2026-10-12"
    assert claim["decision_days"] == 5
    assert claim["overdue"] is False
    assert claim["forwarded_at"] is not None
    assert claim["forward_attempts"] == 1
    assert status_of(gateway.container, guarantee_no) == "claimed"

    (event,) = events_of(gateway.container, "guarantee.claimed")
    assert (event.center_code, event.institution_code) == ("TEST-CENTER", BANK)
    data = json.loads(event.data)
    assert (data["claim_id"], data["guarantee_no"], data["amount_fen"]) == (
        claim["id"],
        guarantee_no,
        50_000_000,
    )

    fetched = gateway.get_claim(claim["id"])
    assert fetched.status_code == 200
    assert fetched.json() == claim
    listed = gateway.list_claims("open").json()
    assert [row["id"] for row in listed["data"]] == [claim["id"]]
    assert gateway.list_claims("overdue").json()["data"] == []


def test_a_claim_for_the_whole_amount_on_the_last_day_of_cover_is_accepted(gateway: Gateway) -> None:
    number = issue_guarantee(gateway)
    gateway.clock.now = CLAIM_DAY.replace(month=12, day=24, hour=15, minute=59)  # 23:59 Shanghai, 12-24
    response = gateway.file_claim(number, AMOUNT)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("over_amount", 422, "claim_exceeds_amount"),
        ("after_cover", 422, "claim_outside_cover"),
        ("before_cover", 422, "claim_outside_cover"),
        ("unknown_guarantee", 404, "guarantee_not_found"),
        ("wrong_center", 404, "guarantee_not_found"),
        ("blank_reason", 422, "claim_reason_required"),
        ("nul_in_reason", 422, "claim_reason_required"),
        ("nul_in_number", 404, "guarantee_not_found"),
        ("zero_amount", 422, "validation_error"),
        ("fractional_amount", 422, "validation_error"),
        ("surrendered", 409, "guarantee_not_claimable"),
        ("released", 409, "guarantee_not_claimable"),
    ],
)
def test_bad_claims_are_refused_with_a_code_and_change_nothing(
    gateway: Gateway, guarantee_no: str, case: str, status: int, code: str
) -> None:
    number, amount, reason, key = guarantee_no, AMOUNT, "投标人开标后撤销投标文件", None
    if case == "over_amount":
        amount = AMOUNT + 1
    elif case == "after_cover":
        gateway.clock.now = CLAIM_DAY.replace(month=12, day=24, hour=16)  # 00:00 Shanghai, 12-25
    elif case == "before_cover":
        gateway.clock.now = CLAIM_DAY - timedelta(days=5)
    elif case == "unknown_guarantee":
        number = "BK20260920-000000000000"
    elif case == "wrong_center":
        key = gateway.other_center_key
    elif case == "blank_reason":
        reason = "   "
    elif case == "nul_in_reason":
        reason = "撤销\u0000投标"
    elif case == "nul_in_number":
        number = "BK2026\u0000"
    elif case == "zero_amount":
        amount = 0
    elif case in ("surrendered", "released"):
        _move(gateway, number, Event.SURRENDER if case == "surrendered" else Event.RELEASE)
    before, guarantee_status = counts(gateway.container), status_of(gateway.container, guarantee_no)
    if case == "fractional_amount":
        body = json.dumps({"guarantee_no": number, "amount_fen": 100.5, "reason": reason}).encode()
        path = "/center/v1/claims"
        response = gateway.client.post(path, content=body, headers=gateway.center_headers("POST", path, body))
    else:
        response = gateway.file_claim(number, amount, reason, key=key)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert counts(gateway.container) == before
    assert status_of(gateway.container, guarantee_no) == guarantee_status


def _move(gateway: Gateway, guarantee_no: str, event: Event) -> None:
    """Lock or release through the broker's transition; surrender through its use case (the refund)."""
    with gateway.container.sessions() as session, session.begin():
        app = session.scalars(select(Application).where(Application.guarantee_no == guarantee_no)).one()
        if event is not Event.SURRENDER:
            transition(session, app, event, actor="test", now=gateway.clock(), reason="test")
            return
        bidder = app.bidder_uscc
    Broker.from_container(gateway.container).surrender(
        bidder=bidder, guarantee_no=guarantee_no, reason=SurrenderReason.TERMINATED
    )


def test_one_open_claim_per_guarantee(gateway: Gateway, guarantee_no: str) -> None:
    first = gateway.file_claim(guarantee_no, 100_000)
    assert first.status_code == 201
    before = counts(gateway.container)
    second = gateway.file_claim(guarantee_no, 200_000)
    assert second.status_code == 409
    assert second.json()["code"] == "claim_exists"
    assert counts(gateway.container) == before


def test_a_claim_on_a_locked_guarantee_is_accepted(gateway: Gateway, guarantee_no: str) -> None:
    _move(gateway, guarantee_no, Event.LOCK)
    response = gateway.file_claim(guarantee_no, AMOUNT)
    assert response.status_code == 201, response.text
    assert status_of(gateway.container, guarantee_no) == "claimed"


def test_another_center_cannot_read_the_claim(gateway: Gateway, guarantee_no: str) -> None:
    claim_id = gateway.file_claim(guarantee_no, 100_000).json()["id"]
    path = f"/center/v1/claims/{claim_id}"
    response = gateway.client.get(
        path, headers=gateway.center_headers("GET", path, key=gateway.other_center_key)
    )
    assert response.status_code == 404
    assert response.json()["code"] == "claim_not_found"
    path = "/center/v1/claims?status=all"
    listed = gateway.client.get(
        path, headers=gateway.center_headers("GET", path, key=gateway.other_center_key)
    )
    assert listed.json()["data"] == []
    assert OTHER_CENTER != "TEST-CENTER"


def test_an_unavailable_institution_gets_the_claim_on_a_later_retry(
    gateway: Gateway, guarantee_no: str
) -> None:
    down = DownInstitution(gateway.container.institutions[BANK])
    gateway.container.institutions[BANK] = down  # type: ignore[assignment]
    response = gateway.file_claim(guarantee_no, 300_000)
    assert response.status_code == 201, response.text
    claim = response.json()
    assert claim["forwarded_at"] is None
    assert claim["forward_attempts"] == 1
    assert claim["last_forward_error"] == "connection refused"
    assert status_of(gateway.container, guarantee_no) == "claimed"  # the claim itself stands

    claims = Claims.from_container(gateway.container)
    claims.uniform = lambda: 1.0  # the longest wait of the first backoff step: 30 s
    assert claims.forward_due().forwarded == []  # not due yet
    gateway.clock.now += timedelta(seconds=31)
    result = claims.forward_due()  # due, still down: the second attempt fails
    assert result.failed == {claim["id"]: "connection refused"}
    gateway.clock.now += timedelta(seconds=61)
    down.up = True
    assert claims.forward_due().forwarded == [claim["id"]]
    assert down.received == [claim["id"]]
    assert claims.forward_due().forwarded == []  # acknowledged: never sent again
    after = gateway.get_claim(claim["id"]).json()
    assert after["forwarded_at"] is not None
    assert after["forward_attempts"] == 3
    assert after["last_forward_error"] is None


def test_institution_pays_the_claimed_amount_once(gateway: Gateway, guarantee_no: str) -> None:
    claim_id = gateway.file_claim(guarantee_no, 400_000).json()["id"]
    response = gateway.decide(claim_id, "paid")
    assert response.status_code == 200, response.text
    decided = response.json()
    assert (decided["status"], decided["paid_amount_fen"]) == ("paid", 400_000)
    assert decided["decided_at"] is not None
    assert status_of(gateway.container, guarantee_no) == "claim_paid"
    (event,) = events_of(gateway.container, "claim.decided")
    assert (event.center_code, event.institution_code) == ("TEST-CENTER", BANK)
    assert json.loads(event.data)["outcome"] == "paid"

    before = counts(gateway.container)
    again = gateway.decide(claim_id, "paid")
    assert again.status_code == 200
    assert again.json()["status"] == "paid"
    contrary = gateway.decide(claim_id, "refused", "单据不符")
    assert contrary.status_code == 409
    assert contrary.json()["code"] == "claim_already_decided"
    assert counts(gateway.container) == before
    assert gateway.get_claim(claim_id).json()["status"] == "paid"


def test_a_refusal_needs_a_reason_and_is_recorded(gateway: Gateway, guarantee_no: str) -> None:
    claim_id = gateway.file_claim(guarantee_no, 400_000).json()["id"]
    blank = gateway.decide(claim_id, "refused")
    assert blank.status_code == 422
    assert blank.json()["code"] == "claim_reason_required"
    refused = gateway.decide(claim_id, "refused", "索赔通知未载明违约事实")
    assert refused.status_code == 200, refused.text
    body = refused.json()
    assert (body["status"], body["paid_amount_fen"], body["decision_reason"]) == (
        "refused",
        None,
        "索赔通知未载明违约事实",
    )
    assert status_of(gateway.container, guarantee_no) == "claim_refused"


def test_only_the_claims_institution_may_decide(gateway: Gateway, guarantee_no: str) -> None:
    claim_id = gateway.file_claim(guarantee_no, 400_000).json()["id"]
    before = counts(gateway.container)
    response = gateway.decide(claim_id, "paid", institution="SBX-GUARANTOR")
    assert response.status_code == 404
    assert response.json()["code"] == "claim_not_found"
    assert counts(gateway.container) == before
    path = f"/partner/v1/claims/{claim_id}"
    own = gateway.client.get(path, headers=gateway.institution_headers(BANK, "GET", path))
    assert own.status_code == 200
    assert own.json()["id"] == claim_id


def test_an_undecided_claim_is_overdue_after_its_decision_day(gateway: Gateway, guarantee_no: str) -> None:
    claim_id = gateway.file_claim(guarantee_no, 400_000).json()["id"]
    gateway.clock.now = CLAIM_DAY.replace(month=10, day=12, hour=15, minute=59)  # 23:59 on the due day
    assert gateway.get_claim(claim_id).json()["overdue"] is False
    assert gateway.list_claims("overdue").json()["data"] == []
    gateway.clock.now = CLAIM_DAY.replace(month=10, day=12, hour=16)  # 00:00 Shanghai, 10-13
    assert gateway.get_claim(claim_id).json()["overdue"] is True
    assert [row["id"] for row in gateway.list_claims("overdue").json()["data"]] == [claim_id]
    gateway.decide(claim_id, "paid")
    assert gateway.get_claim(claim_id).json()["overdue"] is False
    assert gateway.list_claims("overdue").json()["data"] == []
    assert [row["id"] for row in gateway.list_claims("decided").json()["data"]] == [claim_id]


def test_the_database_refuses_a_second_open_claim_row(gateway: Gateway, guarantee_no: str) -> None:
    from sqlalchemy.exc import IntegrityError

    claim_id = gateway.file_claim(guarantee_no, 400_000).json()["id"]
    with gateway.container.sessions() as session:
        first = session.get(Claim, claim_id)
        assert first is not None
        clone = Claim(**{c.name: getattr(first, c.name) for c in Claim.__table__.columns})
        clone.id = "cl_clone"
        session.add(clone)
        with pytest.raises(IntegrityError):
            session.flush()


def test_the_servers_background_loop_forwards_a_pending_claim(gateway: Gateway, guarantee_no: str) -> None:
    import asyncio

    from gateway.claims.workflow import run_worker

    down = DownInstitution(gateway.container.institutions[BANK])
    gateway.container.institutions[BANK] = down  # type: ignore[assignment]
    claim_id = gateway.file_claim(guarantee_no, 300_000).json()["id"]
    down.up = True
    gateway.clock.now += timedelta(hours=2)  # past any backoff

    async def until_forwarded() -> None:
        task = asyncio.create_task(run_worker(gateway.container, poll_s=0.05))
        try:
            for _ in range(200):
                if down.received:
                    return
                await asyncio.sleep(0.05)
        finally:
            task.cancel()

    asyncio.run(until_forwarded())
    assert down.received == [claim_id]
    assert gateway.get_claim(claim_id).json()["forwarded_at"] is not None


def test_malformed_claim_ids_and_cursors_are_client_errors(gateway: Gateway) -> None:
    # The signature covers the decoded path (what the server sees) and the raw query string.
    for path, signed in (
        ("/center/v1/claims/cl%00x", "/center/v1/claims/cl\x00x"),
        ("/center/v1/claims?after=%00", "/center/v1/claims?after=%00"),
    ):
        response = gateway.client.get(path, headers=gateway.center_headers("GET", signed))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "validation_error"
