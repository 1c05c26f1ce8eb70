"""Public verification: the URL in a real letter opens a page showing the guarantee; the JSON API gives
the essential facts; a wrong code and an unknown number get the same 404; the rate limit trips."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from contracts.capitals import amount_in_capitals
from contracts.enums import SurrenderReason
from gateway.broker.tables import Application, Guarantee
from gateway.broker.workflow import Broker
from gateway.settings import Settings
from signing.certificates import TrustStore
from signing.letter import verify_letter
from signing.sm3 import sm3_hex
from tests.claims.claims_factories import Gateway, issue_guarantee, start_gateway

AMOUNT = 800_000 * 100


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    yield from start_gateway(settings)


def _stored(gateway: Gateway, number: str) -> Guarantee:
    with gateway.container.sessions() as session:
        row = session.get(Guarantee, number)
        assert row is not None
        return row


def test_the_letters_qr_url_opens_a_page_showing_the_guarantee(gateway: Gateway) -> None:
    number = issue_guarantee(gateway)
    stored = _stored(gateway, number)
    assert stored.letter_pdf is not None
    trust = TrustStore.from_pem(gateway.container.sandbox_parties[0].trust_pem.encode())
    verdict = verify_letter(stored.letter_pdf, trust)
    assert verdict.ok
    assert verdict.letter is not None
    url = urlsplit(verdict.letter.verify_url)  # exactly what the QR code encodes
    assert f"{url.scheme}://{url.netloc}" == gateway.container.settings.base_url
    assert url.path == "/verify"

    page = gateway.client.get(f"{url.path}?{url.query}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert 'name="viewport"' in html
    assert number in html
    assert "核验通过：保函真实有效" in html
    assert amount_in_capitals(AMOUNT) in html
    assert "示范银行股份有限公司深圳分行" in html
    assert "测试招标人有限公司" in html
    assert stored.letter_sm3 is not None
    assert stored.letter_sm3 in html
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]

    query = parse_qs(url.query)
    api = gateway.client.get("/v1/verify", params={"no": query["no"][0], "code": query["code"][0]})
    assert api.status_code == 200
    body = api.json()
    assert body == {
        "valid": True,
        "guarantee_no": number,
        "institution_name": "示范银行股份有限公司深圳分行",
        "applicant_name": body["applicant_name"],
        "beneficiary_name": "测试招标人有限公司",
        "amount_fen": AMOUNT,
        "amount_capitals": "捌拾万元整",
        "cover_start": "2026-09-25",
        "cover_end": "2026-12-24",
        "status": "valid",
        "status_zh": "有效",
        "letter_sm3": sm3_hex(stored.letter_pdf),
    }
    assert body["applicant_name"].startswith("投标人")
    assert "verification_code" not in body
    assert "bidder_uscc" not in body


def test_wrong_code_and_unknown_number_are_the_same_not_found(gateway: Gateway) -> None:
    number = issue_guarantee(gateway)
    code = _stored(gateway, number).verification_code
    wrong_code = gateway.client.get("/v1/verify", params={"no": number, "code": "ABCDEFGH"})
    unknown = gateway.client.get("/v1/verify", params={"no": "BK20260920-000000000000", "code": code})
    empty = gateway.client.get("/v1/verify", params={"no": "", "code": ""})
    nul = gateway.client.get("/v1/verify", params={"no": "BK\x00", "code": "\x00"})
    for response in (wrong_code, unknown, empty, nul):
        assert response.status_code == 404
        problem = response.json()
        problem.pop("request_id")
        assert problem == {
            "type": "/problems/verification_no_match",
            "title": "No guarantee matches this number and code",
            "status": 404,
            "detail": "no guarantee matches this number and code",
            "code": "verification_no_match",
        }
    page = gateway.client.get("/verify", params={"no": number, "code": "ABCDEFGH"})
    assert page.status_code == 404
    assert "未找到匹配的保函" in page.text
    assert "保函真实" not in page.text
    # The code is printed in capitals; typing it in lower case still matches.
    assert gateway.client.get("/v1/verify", params={"no": number, "code": code.lower()}).status_code == 200


def test_the_page_without_a_query_asks_for_number_and_code(gateway: Gateway) -> None:
    page = gateway.client.get("/verify")
    assert page.status_code == 200
    assert '<label for="no">保函编号</label>' in page.text
    assert '<label for="code">验证码</label>' in page.text


def test_status_words_follow_the_guarantee(gateway: Gateway) -> None:
    number = issue_guarantee(gateway)
    code = _stored(gateway, number).verification_code
    with gateway.container.sessions() as session:
        bidder = session.scalars(
            select(Application.bidder_uscc).where(Application.guarantee_no == number)
        ).one()
    cover_end_next_day = gateway.clock.now.replace(year=2026, month=12, day=24, hour=16)
    saved = gateway.clock.now
    gateway.clock.now = cover_end_next_day
    expired = gateway.client.get("/v1/verify", params={"no": number, "code": code}).json()
    assert (expired["status"], expired["valid"], expired["status_zh"]) == ("expired", False, "已到期")
    gateway.clock.now = saved
    Broker.from_container(gateway.container).surrender(
        bidder=bidder, guarantee_no=number, reason=SurrenderReason.TERMINATED
    )
    surrendered = gateway.client.get("/v1/verify", params={"no": number, "code": code}).json()
    assert (surrendered["status"], surrendered["valid"]) == ("surrendered", False)
    page = gateway.client.get("/verify", params={"no": number, "code": code})
    assert "保函真实，但当前状态为：已退保" in page.text


def test_the_page_is_not_in_the_openapi_schema_and_the_api_is(gateway: Gateway) -> None:
    paths = gateway.client.get("/openapi.json").json()["paths"]
    assert "/v1/verify" in paths
    assert "/verify" not in paths


def test_the_rate_limit_trips_with_retry_after(tmp_path: object, database_url: str) -> None:
    from pathlib import Path

    from gateway.settings import load_settings

    assert isinstance(tmp_path, Path)
    settings = load_settings(
        database_url=database_url,
        data_dir=tmp_path / "var",
        token_secret="test-token-secret",
        verify_rate_burst=3,
        verify_rate_per_minute=2,
    )
    for gateway in start_gateway(settings):
        params = {"no": "BK20260920-000000000000", "code": "ABCDEFGH"}
        answers = [gateway.client.get("/v1/verify", params=params).status_code for _ in range(3)]
        assert answers == [404, 404, 404]
        limited = gateway.client.get("/v1/verify", params=params)
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 30
        page = gateway.client.get("/verify", params=params)  # one bucket for the page and the API
        assert page.status_code == 429
        assert "核验请求过于频繁" in page.text
        assert int(page.headers["retry-after"]) >= 1
        assert timedelta(seconds=int(page.headers["retry-after"])) <= timedelta(seconds=30)
