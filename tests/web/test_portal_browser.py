"""The bidder portal in a real browser (headless Debian Chromium via Playwright) against the gateway
run as a real process with demo data. Screenshots of each main page go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, expect

from gateway.auth.tokens import Role, issue_token
from tests.web.browser_helpers import accept_bank as _accept_bank
from tests.web.browser_helpers import apply as _apply
from tests.web.browser_helpers import payments as _payments
from tests.web.browser_helpers import sign_in as _sign_in
from tests.web.conftest import LiveGateway


def test_a_bidder_buys_a_guarantee_from_sections_to_the_downloaded_letter(
    context: BrowserContext, live_gateway: LiveGateway, screenshots: Path, tmp_path: Path
) -> None:
    page = context.new_page()
    page.goto("/portal")
    expect(page).to_have_url(re.compile(r"/portal/login$"))
    page.screenshot(path=screenshots / "01-login.png", full_page=True)
    _sign_in(page, live_gateway.credentials["bidders"][0]["token"])
    expect(page.get_by_role("heading", name="可投标段")).to_be_visible()
    section = page.locator("#section-SZ2026-0163-01")
    expect(section).to_contain_text("¥50,000.00")
    expect(section).to_contain_text("伍万元整")
    expect(section).to_contain_text("09:30")
    page.screenshot(path=screenshots / "02-sections.png", full_page=True)

    application_id = _apply(page, "SZ2026-0163-01")
    offers = page.locator("ul.offers > li")
    expect(offers).to_have_count(3)
    expect(page.locator("ul.offers")).to_contain_text("即时出函")
    expect(page.locator("ul.offers")).to_contain_text("人工审核")
    page.screenshot(path=screenshots / "03-offers.png", full_page=True)

    _accept_bank(page)
    page.screenshot(path=screenshots / "04-pay.png", full_page=True)
    page.locator("#pay-button").click()
    expect(page.get_by_role("status").first).to_contain_text("支付成功")
    expect(page.locator("#order-status")).to_have_text("完成")
    guarantee_no = page.locator("#guarantee-no").inner_text().strip()
    assert guarantee_no
    steps = page.locator("#timeline .badge").all_inner_texts()
    assert steps == ["询价中", "已报价", "已选择报价", "待审核", "待支付", "保函待开具", "完成"]
    page.screenshot(path=screenshots / "05-issued.png", full_page=True)

    with page.expect_download() as download_info:
        page.locator("#letter-link").click()
    download = download_info.value
    assert download.suggested_filename == f"{guarantee_no}.pdf"
    letter = tmp_path / "letter.pdf"
    download.save_as(letter)
    assert letter.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(letter), "-"], capture_output=True, check=True, text=True).stdout
    assert guarantee_no in text
    assert _payments(live_gateway, application_id) == ["succeeded"]

    page.goto("/portal/orders")
    expect(page.get_by_role("table")).to_contain_text("SZ2026-0163-01")
    page.screenshot(path=screenshots / "06-orders.png", full_page=True)
    page.goto("/portal/sections/SZ2026-0158-02/deposit")
    expect(page.locator("#deposit-amount-capitals")).to_have_text("人民币叁佰万元整")
    expect(page.locator("#subaccount")).to_contain_text("7559")
    page.screenshot(path=screenshots / "07-deposit.png", full_page=True)

    phone = context.browser
    assert phone is not None
    small = phone.new_context(
        base_url=live_gateway.base_url, viewport={"width": 375, "height": 740}, is_mobile=True, locale="zh-CN"
    )
    try:
        mobile = small.new_page()
        _sign_in(mobile, live_gateway.credentials["bidders"][0]["token"])
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the sections page scrolls sideways at phone width ({width}px)"
        mobile.screenshot(path=screenshots / "08-sections-phone.png", full_page=True)
        mobile.goto(f"/portal/orders/{application_id}")
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 375
        mobile.screenshot(path=screenshots / "09-order-phone.png", full_page=True)
    finally:
        small.close()


def test_an_expired_token_goes_back_to_sign_in_with_a_message(
    context: BrowserContext, live_gateway: LiveGateway, screenshots: Path
) -> None:
    key = (live_gateway.data_dir / "secrets" / "token.key").read_bytes().strip()
    bidder = live_gateway.credentials["bidders"][0]
    expired = issue_token(
        key, Role.BIDDER, bidder["uscc"], name=bidder["name"], now=datetime.now(UTC) - timedelta(days=2),
        ttl=timedelta(days=1),
    )  # fmt: skip
    page = context.new_page()
    page.goto("/portal/login")
    page.get_by_label("登录凭证").fill(expired)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#login-message")).to_have_text("登录凭证已过期，请重新登录。")
    expect(page.get_by_label("登录凭证")).to_have_value(expired)  # the form keeps its input
    page.screenshot(path=screenshots / "10-expired-token.png", full_page=True)
    # A session whose token expires meanwhile: the next page goes back to sign-in and says why.
    context.add_cookies([{"name": "gw_portal", "value": expired, "url": f"{live_gateway.base_url}/portal"}])
    page.goto("/portal/orders")
    expect(page).to_have_url(re.compile(r"/portal/login\?reason=token_expired$"))
    expect(page.locator("#login-message")).to_contain_text("已过期")


def test_another_bidders_order_url_is_a_not_found_page(
    browser: Browser, context: BrowserContext, live_gateway: LiveGateway, screenshots: Path
) -> None:
    owner = context.new_page()
    _sign_in(owner, live_gateway.credentials["bidders"][1]["token"])
    application_id = _apply(owner, "SZ2026-0163-01")
    other_context = browser.new_context(base_url=live_gateway.base_url, locale="zh-CN")
    try:
        other = other_context.new_page()
        _sign_in(other, live_gateway.credentials["bidders"][2]["token"])
        response = other.goto(f"/portal/orders/{application_id}")
        assert response is not None
        assert response.status == 404
        expect(other.locator("#not-found")).to_have_text("页面不存在。")
        expect(other.locator("body")).not_to_contain_text(application_id)
        other.screenshot(path=screenshots / "11-not-found.png", full_page=True)
    finally:
        other_context.close()


def test_a_double_clicked_pay_pays_once(
    context: BrowserContext, live_gateway: LiveGateway, screenshots: Path
) -> None:
    page = context.new_page()
    _sign_in(page, live_gateway.credentials["bidders"][2]["token"])
    posts: list[str] = []
    page.on(
        "request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/pay") else None
    )

    # A real double click on the plain form.
    application_id = _apply(page, "SZ2026-0158-01")
    _accept_bank(page)
    page.locator("#pay-button").dblclick()
    expect(page.locator("#order-status")).to_have_text("完成")
    expect(page.get_by_role("status").first).to_contain_text("支付成功")
    assert posts, "the browser sent no pay request"
    assert _payments(live_gateway, application_id) == ["succeeded"]

    # And two submits of the same rendered form that certainly both reach the server, at once.
    second_id = _apply(page, "SZ2026-0158-02")
    _accept_bank(page)
    results = page.evaluate(
        """async () => {
            const form = document.getElementById('pay-form');
            const body = () => new URLSearchParams(new FormData(form));
            const send = () => fetch(form.action, {method: 'POST', body: body()});
            const answers = await Promise.all([send(), send()]);
            return answers.map(a => [a.status, a.url]);
        }"""
    )
    assert [status for status, _url in results] == [200, 200]
    assert {url for _status, url in results} == {
        f"{live_gateway.base_url}/portal/orders/{second_id}?notice=paid"
    }
    assert _payments(live_gateway, second_id) == ["succeeded"]
    page.goto(f"/portal/orders/{second_id}")
    expect(page.locator("#order-status")).to_have_text("完成")
    page.screenshot(path=screenshots / "12-paid-once.png", full_page=True)
