"""The partner API in pull mode, in process on both backends: the whole life of a guarantee driven by
the institution's signed calls, and each bad input refused with its code, logged, changing nothing."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from contracts.institutions import (
    Claim,
    DecisionOutcome,
    Extension,
    GuaranteeData,
    InstitutionUnavailable,
    IssuedGuarantee,
    IssueRequest,
    QuoteRequest,
    StatusQuery,
)
from gateway.broker.tables import Application, Guarantee
from gateway.composition import Container
from gateway.partner.tables import PartnerRoute
from signing.signed_data import sign_canonical
from signing.sm2 import Sm2PrivateKey
from tests.broker.broker_factories import Market, bidder_uscc, headers, seed_market
from tests.partner.partner_helpers import PULL_CODE, PartnerApi, PullParty, add_pull_institution

BIDDER = bidder_uscc(61)
SOON = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()


@pytest.fixture
def market(container: Container) -> Market:
    return seed_market(container)


@pytest.fixture
def party(container: Container, market: Market, tmp_path: Path) -> PullParty:
    return add_pull_institution(container, tmp_path / "pull-pki")


@pytest.fixture
def api(client: TestClient, party: PullParty) -> PartnerApi:
    return PartnerApi(client, party)


def wait_for(probe: Callable[[], Any], seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def apply_and_quote(
    client: TestClient, container: Container, api: PartnerApi, market: Market, quote: dict[str, Any] | None,
    uscc: str = BIDDER,
) -> tuple[dict[str, Any], Any]:  # fmt: skip
    """Apply as a bidder while the institution answers (or not) its quote request."""
    with ThreadPoolExecutor(1) as pool:
        applied = pool.submit(
            client.post,
            "/v1/applications",
            json={"section_code": market.section},
            headers=headers(container, uscc),
        )
        [item] = wait_for(lambda: api.listing("quote_requested"))
        assert item["quote_request"]["bidder_uscc"] == uscc
        answer = None
        if quote is not None:
            answer = api.post(f"/partner/v1/applications/{item['application_id']}/quote", quote)
        response = applied.result(timeout=10)
    assert response.status_code == 201, response.text
    return response.json(), answer


def pull_offer(app: dict[str, Any]) -> str:
    [offer] = [o["offer_id"] for o in app["offers"] if o["institution"]["code"] == PULL_CODE]
    return str(offer)


def to_review(
    client: TestClient, container: Container, api: PartnerApi, market: Market, uscc: str = BIDDER
) -> str:
    app, answer = apply_and_quote(
        client, container, api, market, {"premium_fen": 140_000, "valid_until": SOON}, uscc
    )
    assert answer is not None
    assert answer.status_code == 200, answer.text
    accepted = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": pull_offer(app)},
        headers=headers(container, uscc),
    )
    assert accepted.json()["status"] == "under_review", accepted.text
    return str(app["id"])


def to_paid(
    client: TestClient, container: Container, api: PartnerApi, market: Market, uscc: str = BIDDER
) -> str:
    application_id = to_review(client, container, api, market, uscc)
    decided = api.post(f"/partner/v1/applications/{application_id}/decision", {"outcome": "approved"})
    assert decided.json()["status"] == "approved", decided.text
    paid = client.post(
        f"/v1/applications/{application_id}/payments",
        json={"method": "sandbox"},
        headers=headers(container, uscc),
    )
    assert paid.json()["status"] == "paid", paid.text
    return application_id


def issue_request(api: PartnerApi, application_id: str) -> IssueRequest:
    item = api.get(f"/partner/v1/applications/{application_id}").json()
    assert item["status"] == "awaiting_issuance"
    return IssueRequest.model_validate(item["issue_request"])


NUMBER = "PL20261122-0001"


def guarantee(
    party: PullParty, request: IssueRequest, *, key: Sm2PrivateKey | None = None, number: str = NUMBER,
    **changes: Any,
) -> dict[str, Any]:  # fmt: skip
    quote = request.quote
    data = GuaranteeData.model_validate(
        {
            "guarantee_no": number, "application_id": request.application_id, "institution_code": party.code,
            "product": quote.product, "section_code": quote.section_code, "applicant_uscc": quote.bidder_uscc,
            "applicant_name": quote.bidder_name, "beneficiary_uscc": request.beneficiary_uscc,
            "beneficiary_name": request.beneficiary_name, "amount_fen": quote.amount_fen,
            "premium_fen": request.premium_fen, "cover_start": quote.cover_start,
            "cover_end": quote.cover_end, "issued_at": datetime.now(UTC), **changes,
        }
    )  # fmt: skip
    signature = sign_canonical(key or party.key, data.signed_value())
    issued = IssuedGuarantee(data=data, key_id=party.key_id, signature_b64=signature)
    return issued.model_dump(mode="json")


def state(container: Container, application_id: str) -> tuple[str, int, str | None]:
    with container.sessions() as session:
        app = session.get(Application, application_id)
        assert app is not None
        count = session.scalar(
            select(func.count()).select_from(Guarantee).where(Guarantee.application_id == app.id)
        )
        return app.status, int(count or 0), app.guarantee_no


def test_whole_life_driven_by_the_institution(
    client: TestClient, container: Container, api: PartnerApi, market: Market, party: PullParty
) -> None:
    app, answer = apply_and_quote(
        client, container, api, market, {"premium_fen": 140_000, "decision": "review", "valid_until": SOON}
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "quoted"
    offers = {o["institution"]["code"]: o for o in app["offers"]}
    assert offers[PULL_CODE]["premium_fen"] == 140_000
    assert offers[PULL_CODE]["decision"] == "review"

    accepted = client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": pull_offer(app)},
        headers=headers(container, BIDDER),
    )
    assert accepted.json()["status"] == "under_review"
    assert [i["application_id"] for i in api.listing("awaiting_decision")] == [app["id"]]
    assert (
        api.post(f"/partner/v1/applications/{app['id']}/decision", {"outcome": "approved"}).status_code == 200
    )
    paid = client.post(
        f"/v1/applications/{app['id']}/payments",
        json={"method": "sandbox"},
        headers=headers(container, BIDDER),
    )
    assert paid.json()["status"] == "paid"  # stays paid until the institution posts issuance
    request = issue_request(api, app["id"])
    assert request.premium_fen.fen == 140_000

    body = guarantee(party, request)
    issued = api.post(f"/partner/v1/applications/{app['id']}/issuance", body)
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "issued"
    assert state(container, app["id"]) == ("issued", 1, "PL20261122-0001")
    with container.sessions() as session:
        stored = session.get(Guarantee, "PL20261122-0001")
        assert stored is not None
        assert stored.verification_code == request.verification_code
    # The same issuance posted again (a lost answer, new key) changes nothing and is not an error.
    again = api.post(f"/partner/v1/applications/{app['id']}/issuance", body)
    assert again.status_code == 200
    assert state(container, app["id"]) == ("issued", 1, "PL20261122-0001")
    mine = client.get("/v1/guarantees/PL20261122-0001", headers=headers(container, BIDDER))
    assert mine.json()["application_id"] == app["id"]


def test_a_quote_that_never_comes_lapses_and_is_then_refused(
    client: TestClient, container: Container, api: PartnerApi, market: Market
) -> None:
    app, _ = apply_and_quote(client, container, api, market, None)
    assert PULL_CODE not in {o["institution"]["code"] for o in app["offers"]}
    late = api.post(
        f"/partner/v1/applications/{app['id']}/quote", {"premium_fen": 100_000, "valid_until": SOON}
    )
    assert (late.status_code, late.json()["code"]) == (409, "quote_closed")
    assert api.get(f"/partner/v1/applications/{app['id']}").json()["quote"]["status"] == "lapsed"


@pytest.mark.parametrize(
    ("quote", "status", "code"),
    [
        ({"premium_fen": 10**9, "valid_until": SOON}, 422, "premium_above_schedule"),
        ({"premium_fen": 100_000, "valid_until": "2020-01-01T00:00:00+08:00"}, 422, "valid_until_past"),
        (
            {"premium_fen": 100_000, "declined": True, "declined_reason": "x", "valid_until": SOON},
            422,
            "validation_error",
        ),
        ({"declined": True, "valid_until": SOON}, 422, "validation_error"),
    ],
)
def test_bad_quotes_are_refused_and_change_nothing(
    client: TestClient, container: Container, api: PartnerApi, market: Market, quote: dict[str, Any],
    status: int, code: str, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    app, answer = apply_and_quote(client, container, api, market, quote)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert PULL_CODE not in {o["institution"]["code"] for o in app["offers"]}
    with container.sessions() as session:
        route = session.scalars(select(PartnerRoute)).one()
        assert (route.quote_status, route.quote_premium_fen) == ("lapsed", None)
    if status != 422 or code != "validation_error":
        assert any(getattr(r, "code", None) == code for r in caplog.records)


def test_a_declined_quote_is_recorded_and_gives_no_offer(
    client: TestClient, container: Container, api: PartnerApi, market: Market
) -> None:
    quote = {"declined": True, "declined_reason": "over our limit", "valid_until": SOON}
    app, answer = apply_and_quote(client, container, api, market, quote)
    assert answer.status_code == 200
    assert answer.json()["quote"]["declined_reason"] == "over our limit"
    assert PULL_CODE not in {o["institution"]["code"] for o in app["offers"]}


def test_another_institution_sees_nothing_and_acts_on_nothing(
    client: TestClient, container: Container, api: PartnerApi, market: Market, tmp_path: Path
) -> None:
    other = PartnerApi(client, add_pull_institution(container, tmp_path / "other-pki", code="PULL-OTHER"))
    application_id = to_review(client, container, api, market)
    # It was asked for a quote too (eligible) and did not answer; the bidder chose PULL-BANK: closed for it.
    assert [i["status"] for i in other.listing()] == ["closed"]
    assert other.listing()[0]["application_status"] == "closed"
    decided = other.post(f"/partner/v1/applications/{application_id}/decision", {"outcome": "approved"})
    assert (decided.status_code, decided.json()["code"]) == (404, "application_not_found")
    assert other.get("/partner/v1/applications/ap_nonexistent").status_code == 404
    assert state(container, application_id)[0] == "under_review"


def test_decision_twice_and_decision_before_being_chosen(
    client: TestClient, container: Container, api: PartnerApi, market: Market
) -> None:
    application_id = to_review(client, container, api, market)
    target = f"/partner/v1/applications/{application_id}/decision"
    assert api.post(target, {"outcome": "rejected", "reason": "KYC"}).json()["status"] == "rejected"
    twice = api.post(target, {"outcome": "approved"})
    assert (twice.status_code, twice.json()["code"]) == (409, "already_decided")
    assert state(container, application_id)[0] == "rejected"


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        ("foreign_key", 422, "signature_invalid"),
        ("amount", 422, "data_mismatch"),
        ("other_application", 422, "data_mismatch"),
        ("letter", 422, "letter_invalid"),
    ],
)
def test_bad_issuance_is_refused_and_the_order_stays_paid(
    client: TestClient, container: Container, api: PartnerApi, market: Market, party: PullParty, tamper: str,
    status: int, code: str, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    application_id = to_paid(client, container, api, market)
    request = issue_request(api, application_id)
    if tamper == "foreign_key":
        body = guarantee(party, request, key=Sm2PrivateKey.generate())
    elif tamper == "amount":
        body = guarantee(party, request, amount_fen=request.quote.amount_fen.fen + 1)
    elif tamper == "other_application":
        body = guarantee(party, request, application_id="ap_someone_else")
    else:
        body = guarantee(party, request) | {"letter_pdf_b64": base64.b64encode(b"not a pdf").decode()}
    refused = api.post(f"/partner/v1/applications/{application_id}/issuance", body)
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    assert state(container, application_id) == ("paid", 0, None)
    assert any(getattr(r, "code", None) == code for r in caplog.records)
    # The genuine one is still accepted afterwards.
    good = api.post(f"/partner/v1/applications/{application_id}/issuance", guarantee(party, request))
    assert good.status_code == 200, good.text
    assert state(container, application_id)[:2] == ("issued", 1)


def test_issuance_too_early_or_twice_is_a_conflict(
    client: TestClient, container: Container, api: PartnerApi, market: Market, party: PullParty
) -> None:
    application_id = to_review(client, container, api, market)
    early = api.post(
        f"/partner/v1/applications/{application_id}/issuance",
        {"data": {}, "key_id": "x", "signature_b64": "x"},
    )
    assert early.status_code == 422  # not even well-formed
    decided = api.post(f"/partner/v1/applications/{application_id}/decision", {"outcome": "approved"})
    assert decided.status_code == 200
    paid_id = application_id
    paid = client.post(
        f"/v1/applications/{paid_id}/payments", json={"method": "sandbox"}, headers=headers(container, BIDDER)
    )
    assert paid.json()["status"] == "paid"
    request = issue_request(api, paid_id)
    first = api.post(f"/partner/v1/applications/{paid_id}/issuance", guarantee(party, request))
    assert first.status_code == 200
    second = api.post(
        f"/partner/v1/applications/{paid_id}/issuance", guarantee(party, request, number="PL20261122-0002")
    )
    assert (second.status_code, second.json()["code"]) == (409, "already_issued")
    assert state(container, paid_id) == ("issued", 1, "PL20261122-0001")


def test_issuance_before_payment_is_a_conflict(
    client: TestClient, container: Container, api: PartnerApi, market: Market, party: PullParty
) -> None:
    application_id = to_review(client, container, api, market)
    assert (
        api.post(f"/partner/v1/applications/{application_id}/decision", {"outcome": "approved"}).status_code
        == 200
    )
    with container.sessions() as session:
        route = session.scalars(select(PartnerRoute)).one()
        quote = route.quote_request
    asked = QuoteRequest.model_validate_json(quote)
    # What an issue request would say, made up by the institution: approved but unpaid, nothing to issue.
    request = IssueRequest.model_validate(
        {"application_id": application_id, "institution_code": party.code, "quote": asked,
         "premium_fen": 140_000, "beneficiary_name": "测试招标人有限公司",
         "beneficiary_uscc": asked.bidder_uscc, "section_name": "s", "project_name": "p",
         "verification_code": "ABCDEFGH", "verify_base_url": "http://x"}
    )  # fmt: skip
    early = api.post(f"/partner/v1/applications/{application_id}/issuance", guarantee(party, request))
    assert (early.status_code, early.json()["code"]) == (409, "not_awaiting_issuance")
    assert state(container, application_id) == ("awaiting_payment", 0, None)


def test_surrender_leaves_a_notice_the_institution_acknowledges(
    client: TestClient, container: Container, api: PartnerApi, market: Market, party: PullParty
) -> None:
    application_id = to_paid(client, container, api, market)
    body = guarantee(party, issue_request(api, application_id))
    assert api.post(f"/partner/v1/applications/{application_id}/issuance", body).status_code == 200
    surrendered = client.post(
        "/v1/guarantees/PL20261122-0001/surrender",
        json={"reason": "terminated"},
        headers=headers(container, BIDDER),
    )
    assert surrendered.status_code == 200, surrendered.text
    [notice] = api.get("/partner/v1/notices").json()["data"]
    assert (notice["kind"], notice["guarantee_no"]) == ("surrender", "PL20261122-0001")
    # The adapter's other answers: status from the database, claims and extensions as notices.
    adapter = container.institutions[PULL_CODE]
    query = StatusQuery(application_id=application_id, institution_code=PULL_CODE)
    assert adapter.status(query).outcome is DecisionOutcome.APPROVED
    claim = Claim.model_validate({"claim_id": "cl-1", "guarantee_no": NUMBER, "institution_code": PULL_CODE,
                                  "amount_fen": 100, "reason": "bidder withdrew"})  # fmt: skip
    assert adapter.claim(claim).claim_id == "cl-1"
    assert adapter.claim(claim).claim_id == "cl-1"  # told twice, one notice
    extension = Extension.model_validate(
        {"guarantee_no": NUMBER, "institution_code": PULL_CODE, "new_cover_end": "2027-12-31"}
    )
    with pytest.raises(InstitutionUnavailable):
        adapter.extend(extension)  # the institution answers through the partner API
    kinds = [n["kind"] for n in api.get("/partner/v1/notices").json()["data"]]
    assert kinds == ["surrender", "claim", "extension"]
    ack = api.post(f"/partner/v1/notices/{notice['id']}/acknowledge", {})
    assert ack.status_code == 204
    assert [n["kind"] for n in api.get("/partner/v1/notices").json()["data"]] == ["claim", "extension"]
    assert api.post("/partner/v1/notices/999999/acknowledge", {}).json()["code"] == "notice_not_found"


def test_a_guarantee_number_already_used_is_refused(
    client: TestClient, container: Container, api: PartnerApi, market: Market, party: PullParty
) -> None:
    first = to_paid(client, container, api, market)
    second = to_paid(client, container, api, market, bidder_uscc(62))
    assert (
        api.post(
            f"/partner/v1/applications/{first}/issuance", guarantee(party, issue_request(api, first))
        ).status_code
        == 200
    )
    reused = api.post(
        f"/partner/v1/applications/{second}/issuance", guarantee(party, issue_request(api, second))
    )
    assert (reused.status_code, reused.json()["code"]) == (409, "guarantee_no_taken")
    assert state(container, second) == ("paid", 0, None)
