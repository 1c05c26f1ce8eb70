"""The bidder portal's pages through the TestClient (SQLite and PostgreSQL): sign-in, the same
object-level authorization as the API, CSRF, readable errors, and pay that runs once per form."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from gateway.app import create_app
from gateway.auth.tokens import Role, issue_token
from gateway.broker.tables import Application, Offer, Payment
from gateway.composition import Container, build_container
from gateway.demo.seed import seed_demo
from gateway.deposits.tables import DepositSubaccount, EscrowAccount
from gateway.finance.subaccounts import is_valid_subaccount
from gateway.settings import load_settings
from tests.web.portal_helpers import hidden, sign_in


@pytest.fixture
def demo(container: Container) -> dict[str, Any]:
    credentials: dict[str, Any] = json.loads(seed_demo(container).read_text(encoding="utf-8"))
    return credentials


def _signed_in(client: TestClient, demo: dict[str, Any], n: int = 0) -> TestClient:
    response = sign_in(client, demo["bidders"][n]["token"])
    assert response.status_code == 303, response.text
    return client


def _apply(client: TestClient, section: str) -> str:
    page = client.get("/portal/sections")
    response = client.post(
        f"/portal/sections/{section}/apply",
        data={"csrf": hidden(page.text, "csrf"), "product": "bid"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    match = re.match(r"^/portal/orders/([^?]+)\?notice=applied$", response.headers["location"])
    assert match is not None
    return match.group(1)


def _bank_offer(container: Container, application_id: str) -> str:
    with container.sessions() as session:
        return session.scalars(
            select(Offer.id).where(
                Offer.application_id == application_id, Offer.institution_code == "SBX-BANK"
            )
        ).one()


def test_pages_need_a_session_and_the_sign_in_sets_a_strict_http_only_cookie(
    client: TestClient, demo: dict[str, Any]
) -> None:
    assert client.get("/portal/sections", follow_redirects=False).headers["location"] == "/portal/login"
    response = sign_in(client, demo["bidders"][0]["token"])
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "gw_portal=" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/portal" in cookie
    assert "secure" not in cookie  # http base URL: a Secure cookie would never come back
    page = client.get("/portal/sections")
    assert page.status_code == 200
    assert "施工总承包第一标段" in page.text
    assert "800,000.00" in page.text
    assert "捌拾万元整" in page.text
    assert "09:30" in page.text  # the demo's bid opening, shown in Asia/Shanghai (01:30 UTC)


def test_a_bad_token_keeps_the_input_and_says_why(client: TestClient, demo: dict[str, Any]) -> None:
    response = sign_in(client, "gw1.not-a.token")
    assert response.status_code == 401
    assert "登录凭证无效" in response.text
    assert "gw1.not-a.token" in response.text  # the form keeps its input


def test_a_finance_token_is_not_a_bidder_session(client: TestClient, demo: dict[str, Any]) -> None:
    response = sign_in(client, demo["finance"]["token"])
    assert response.status_code == 403
    assert "不是投标人凭证" in response.text


def test_sign_in_without_the_form_csrf_is_refused(client: TestClient, demo: dict[str, Any]) -> None:
    response = client.post("/portal/login", data={"token": demo["bidders"][0]["token"], "csrf": "forged"})
    assert response.status_code == 403
    assert "gw_portal=" not in response.headers.get("set-cookie", "")


def test_an_expired_session_goes_back_to_sign_in_with_a_message(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    uscc, name = demo["bidders"][0]["uscc"], demo["bidders"][0]["name"]
    expired = issue_token(
        container.token_key, Role.BIDDER, uscc, name=name, now=container.clock() - timedelta(hours=2),
        ttl=timedelta(hours=1),
    )  # fmt: skip
    client.cookies.set("gw_portal", expired, path="/portal")
    response = client.get("/portal/orders", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login?reason=token_expired"
    page = client.get(response.headers["location"])
    assert "登录凭证已过期" in page.text


def test_post_without_csrf_changes_nothing(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    _signed_in(client, demo)
    response = client.post("/portal/sections/SZ2026-0158-01/apply", data={"csrf": "x", "product": "bid"})
    assert response.status_code == 403
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 0


def test_another_bidders_order_and_letter_are_not_found(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    application_id = _apply(_signed_in(client, demo, 0), "SZ2026-0163-01")
    assert client.get(f"/portal/orders/{application_id}").status_code == 200
    _signed_in(client, demo, 1)
    page = client.get(f"/portal/orders/{application_id}")
    assert page.status_code == 404
    assert "页面不存在" in page.text
    assert application_id not in page.text
    page = client.get("/portal/orders")
    assert application_id not in page.text
    # Nor can the other bidder act on it: accept is refused as not found, nothing moves.
    csrf = hidden(client.get("/portal/sections").text, "csrf")
    response = client.post(
        f"/portal/orders/{application_id}/accept",
        data={"csrf": csrf, "offer_id": _bank_offer(container, application_id)},
    )
    assert response.status_code == 404
    with container.sessions() as session:
        assert session.get(Application, application_id).status == "offered"  # type: ignore[union-attr]


def test_a_second_application_for_the_section_is_a_readable_409(
    client: TestClient, demo: dict[str, Any]
) -> None:
    _apply(_signed_in(client, demo), "SZ2026-0163-01")
    page = client.get("/portal/sections")
    response = client.post(
        "/portal/sections/SZ2026-0163-01/apply", data={"csrf": hidden(page.text, "csrf"), "product": "bid"}
    )
    assert response.status_code == 409
    assert "已有一笔进行中的保函申请" in response.text


def test_buy_pay_twice_with_one_form_pays_once_and_downloads_the_letter(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    application_id = _apply(_signed_in(client, demo), "SZ2026-0163-01")
    page = client.get(f"/portal/orders/{application_id}")
    assert "报价比较" in page.text
    assert "即时出函" in page.text
    assert "人工审核" in page.text
    response = client.post(
        f"/portal/orders/{application_id}/accept",
        data={"csrf": hidden(page.text, "csrf"), "offer_id": _bank_offer(container, application_id)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(f"/portal/orders/{application_id}")
    assert "确认支付" in page.text
    form = {"csrf": hidden(page.text, "csrf"), "pay_key": hidden(page.text, "pay_key"), "method": "sandbox"}
    first = client.post(f"/portal/orders/{application_id}/pay", data=form, follow_redirects=False)
    second = client.post(f"/portal/orders/{application_id}/pay", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].endswith("?notice=paid")
    with container.sessions() as session:
        payments = session.scalars(select(Payment).where(Payment.application_id == application_id)).all()
        app = session.get(Application, application_id)
        assert app is not None
        assert [p.status for p in payments] == ["succeeded"]
        assert app.status == "issued"
        guarantee_no = app.guarantee_no
    page = client.get(first.headers["location"])
    assert "支付成功" in page.text
    assert guarantee_no is not None
    assert guarantee_no in page.text
    assert "完成" in page.text  # the timeline ends issued
    letter = client.get(f"/portal/guarantees/{guarantee_no}/letter.pdf")
    assert letter.status_code == 200
    assert letter.content.startswith(b"%PDF")
    # A fresh pay form after issue is refused with a readable reason, not a second charge.
    form["pay_key"] = "another-key-0123456789"
    third = client.post(f"/portal/orders/{application_id}/pay", data=form)
    assert third.status_code == 409
    assert "保费已经支付" in third.text
    with container.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Payment).where(Payment.application_id == application_id)
        )
        assert count == 1
    # The letter is the bidder's own: another bidder gets the not-found page.
    _signed_in(client, demo, 2)
    assert client.get(f"/portal/guarantees/{guarantee_no}/letter.pdf").status_code == 404


def test_surrender_keeps_the_reason_on_refusal_and_works_with_one(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    application_id = _apply(_signed_in(client, demo), "SZ2026-0163-01")
    page = client.get(f"/portal/orders/{application_id}")
    client.post(
        f"/portal/orders/{application_id}/accept",
        data={"csrf": hidden(page.text, "csrf"), "offer_id": _bank_offer(container, application_id)},
    )
    page = client.get(f"/portal/orders/{application_id}")
    client.post(
        f"/portal/orders/{application_id}/pay",
        data={
            "csrf": hidden(page.text, "csrf"),
            "pay_key": hidden(page.text, "pay_key"),
            "method": "sandbox",
        },
    )
    page = client.get(f"/portal/orders/{application_id}")
    assert "申请退保" in page.text
    refused = client.post(
        f"/portal/orders/{application_id}/surrender",
        data={"csrf": hidden(page.text, "csrf"), "reason": "bogus"},
    )
    assert refused.status_code == 422
    assert "请选择退保原因" in refused.text
    done = client.post(
        f"/portal/orders/{application_id}/surrender",
        data={"csrf": hidden(page.text, "csrf"), "reason": "withdrawn"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with container.sessions() as session:
        assert session.get(Application, application_id).status == "surrendered"  # type: ignore[union-attr]


def test_cash_deposit_page_shows_the_bidders_own_sub_account_from_the_deposits_service(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    page = _signed_in(client, demo).get("/portal/sections/SZ2026-0158-02/deposit")
    assert page.status_code == 200
    match = re.search(r'id="subaccount">([0-9 ]+)<', page.text)
    assert match is not None
    number = match.group(1).replace(" ", "")
    with container.sessions() as session:
        escrow = session.get(EscrowAccount, "SZ-GGZY")
        assert escrow is not None
        held = session.scalars(
            select(DepositSubaccount).where(DepositSubaccount.section_code == "SZ2026-0158-02")
        ).all()
    assert is_valid_subaccount(number, escrow.subaccount_prefix)
    assert [(row.number, row.bidder_uscc) for row in held] == [(number, demo["bidders"][0]["uscc"])]
    assert escrow.account_name in page.text
    assert escrow.bank_name in page.text
    assert "3,000,000.00" in page.text
    assert "人民币叁佰万元整" in page.text
    assert "演示预览" not in page.text
    # The same number every time, and the same one the bidder API gives.
    again = client.get("/portal/sections/SZ2026-0158-02/deposit")
    assert f'id="subaccount">{match.group(1)}<' in again.text
    api = client.get(
        "/v1/sections/SZ2026-0158-02/deposit-account",
        headers={"Authorization": f"Bearer {demo['bidders'][0]['token']}"},
    )
    assert api.json()["subaccount"] == number
    # Another bidder gets another sub-account of the same escrow account.
    other = _signed_in(client, demo, 1).get("/portal/sections/SZ2026-0158-02/deposit")
    other_number = re.search(r'id="subaccount">([0-9 ]+)<', other.text)
    assert other_number is not None
    assert other_number.group(1).replace(" ", "") != number
    assert client.get("/portal/sections/NO-SUCH/deposit").status_code == 404


def test_cash_deposit_page_says_so_when_the_center_has_no_escrow_account(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    with container.sessions() as session, session.begin():
        session.execute(delete(EscrowAccount))
    page = _signed_in(client, demo).get("/portal/sections/SZ2026-0158-02/deposit")
    assert page.status_code == 409
    assert "尚未配置保证金专户" in page.text
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DepositSubaccount)) == 0


def test_the_live_fragment_is_the_order_alone_and_an_expired_poll_redirects_the_page(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    application_id = _apply(_signed_in(client, demo), "SZ2026-0163-01")
    fragment = client.get(f"/portal/orders/{application_id}/live", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="order-live"')
    assert "<html" not in fragment.text
    uscc, name = demo["bidders"][0]["uscc"], demo["bidders"][0]["name"]
    expired = issue_token(
        container.token_key, Role.BIDDER, uscc, name=name, now=container.clock() - timedelta(hours=2),
        ttl=timedelta(hours=1),
    )  # fmt: skip
    client.cookies.set("gw_portal", expired, path="/portal")
    poll = client.get(f"/portal/orders/{application_id}/live", headers={"HX-Request": "true"})
    assert poll.status_code == 204
    assert poll.headers["HX-Redirect"] == "/portal/login?reason=token_expired"


def test_a_reviewing_institutions_offer_waits_for_review_and_cannot_be_paid_yet(
    client: TestClient, container: Container, demo: dict[str, Any]
) -> None:
    application_id = _apply(_signed_in(client, demo), "SZ2026-0163-01")
    with container.sessions() as session:
        offer_id = session.scalars(
            select(Offer.id).where(
                Offer.application_id == application_id, Offer.institution_code == "SBX-INSURER"
            )
        ).one()
    page = client.get(f"/portal/orders/{application_id}")
    client.post(
        f"/portal/orders/{application_id}/accept",
        data={"csrf": hidden(page.text, "csrf"), "offer_id": offer_id},
    )
    page = client.get(f"/portal/orders/{application_id}")
    assert "待审核" in page.text
    assert "确认支付" not in page.text
    response = client.post(
        f"/portal/orders/{application_id}/pay",
        data={"csrf": hidden(page.text, "csrf"), "pay_key": "k" * 20, "method": "sandbox"},
    )
    assert response.status_code == 409
    assert "订单当前状态不允许此操作" in response.text
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_the_session_cookie_is_secure_when_the_gateway_is_served_over_https(
    database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url=database_url, data_dir=tmp_path / "var", token_secret="test-token-secret",
        public_base_url="https://gateway.example",
    )  # fmt: skip
    container = build_container(settings)
    try:
        credentials = json.loads(seed_demo(container).read_text(encoding="utf-8"))
        with TestClient(create_app(container), base_url="https://testserver") as client:
            response = sign_in(client, credentials["bidders"][0]["token"])
            assert response.status_code == 303
            assert "secure" in response.headers["set-cookie"].lower()
    finally:
        container.close()
