"""The finance console and the public verification page in a real browser (headless Debian Chromium via
Playwright) against the gateway run as a real process with demo data. The money arrives the way it
does in production: signed notices from the demo escrow bank, then finance uploads the bank's statement.
Screenshots of each main console page go to test-artifacts/screenshots/."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from gateway.auth.tokens import Role, issue_token
from signing.http_signature import sign_request
from signing.sm2 import Sm2PrivateKey
from tests.web.browser_helpers import accept_bank, apply, sign_in
from tests.web.conftest import LiveGateway

ESCROW_ACCOUNT = "755900000000001"  # the demo center's escrow account (gateway.demo.seed)
SECTION = "SZ2026-0158-01"  # 施工总承包第一标段, deposit ¥800,000


def _today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _bank_notice(gateway: LiveGateway, payload: dict[str, Any]) -> dict[str, Any]:
    """What the demo escrow bank sends when money arrives on a sub-account (SM2-signed)."""
    escrow = gateway.credentials["escrow_bank"]
    body = json.dumps(payload).encode()
    path = "/bank/v1/deposit-notices"
    key = Sm2PrivateKey.from_pem(escrow["private_key_pem"].encode())
    headers = {
        "Authorization": sign_request(
            key, escrow["key_id"], "POST", path, body, timestamp=int(datetime.now(UTC).timestamp())
        ),
        "Idempotency-Key": uuid.uuid4().hex,
        "Content-Type": "application/json",
    }
    response = httpx.post(f"{gateway.base_url}{path}", content=body, headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _subaccount(gateway: LiveGateway, bidder: dict[str, str]) -> str:
    response = httpx.get(
        f"{gateway.base_url}/v1/sections/{SECTION}/deposit-account",
        headers={"Authorization": f"Bearer {bidder['token']}"},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    number: str = response.json()["subaccount"]
    return number


def _csv_statement(lines: list[tuple[str, int, str, str]]) -> bytes:
    """A bank's CSV export of the escrow account: (bank reference, fen, payer name, payer account)."""
    out = [
        f"账号: {ESCROW_ACCOUNT}",
        "流水号,交易日期,交易时间,借方发生额,贷方发生额,对方户名,对方账号,摘要,客户参考号",
    ]
    for reference, fen, name, account in lines:
        amount = f'"{fen // 100:,}.{fen % 100:02d}"'
        out.append(f"{reference},{_today()},10:00:00,,{amount},{name},{account},保证金,")
    return "\n".join(out).encode("gbk")


def _count(gateway: LiveGateway, table: str) -> int:
    with sqlite3.connect(f"file:{gateway.database}?mode=ro", uri=True) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _finance(page: Page, gateway: LiveGateway) -> None:
    sign_in(page, gateway.credentials["finance"]["token"], "console")


def _fits_a_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    # What sticks out (outside a table's own scroll box), to say so when the page is too wide.
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 375
                && !(e.parentElement && e.parentElement.closest('.table-wrap')))
            .map(e => e.tagName + '#' + e.id + '@' + Math.round(e.getBoundingClientRect().right))
            .slice(0, 5)"""
    )
    assert width <= 375, f"{page.url} scrolls sideways at phone width ({width}px): {wide}"


def test_finance_uploads_a_statement_and_resolves_the_exceptions(
    browser: Browser, context: BrowserContext, live_gateway: LiveGateway, screenshots: Path, tmp_path: Path
) -> None:
    good, odd = live_gateway.credentials["bidders"][1], live_gateway.credentials["bidders"][2]
    matched = _bank_notice(
        live_gateway,
        {
            "bank_reference": f"BR-{uuid.uuid4().hex[:10]}", "subaccount": _subaccount(live_gateway, good),
            "amount_fen": 800_000_00, "payer_name": good["name"], "payer_account": "6222020000000101",
            "value_date": _today(),
        },
    )  # fmt: skip
    assert matched["outcome"] == "matched"
    odd_reference = f"BR-{uuid.uuid4().hex[:10]}"
    unmatched = _bank_notice(
        live_gateway,
        {
            "bank_reference": odd_reference, "subaccount": _subaccount(live_gateway, odd),
            "amount_fen": 800_000_00, "payer_name": "南方样例市政工程有限公司第三分公司",
            "payer_account": "6222020000000303", "value_date": _today(),
        },
    )  # fmt: skip
    assert (unmatched["outcome"], unmatched["reason"]) == ("exception", "payer_name_mismatch")

    page = context.new_page()
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.screenshot(path=screenshots / "20-console-login.png", full_page=True)
    _finance(page, live_gateway)
    expect(page.get_by_role("heading", name="现金保证金", exact=True)).to_be_visible()
    expect(page.locator("#totals")).to_contain_text("施工总承包第一标段")
    expect(page.locator("#deposits")).to_contain_text(good["name"])
    page.screenshot(path=screenshots / "21-console-deposits.png", full_page=True)
    page.locator("#deposits").get_by_role("link", name=re.compile(f"详情 {good['name']}")).first.click()
    expect(page.locator("#deposit-amount-capitals")).to_have_text("人民币捌拾万元整")
    page.screenshot(path=screenshots / "22-console-deposit.png", full_page=True)

    # The deposit exception: money from a branch office, claimed for the bidder by hand.
    page.get_by_role("link", name="异常款项").click()
    expect(page.locator("#exceptions")).to_contain_text("付款人不是投标人")
    page.screenshot(path=screenshots / "23-console-exceptions.png", full_page=True)
    page.locator("#exceptions").get_by_role("link", name=re.compile("处理")).first.click()
    page.get_by_label("投标人统一社会信用代码").fill(odd["uscc"][:-1] + "0")  # a typo first
    page.get_by_label("处理说明").first.fill("分公司代缴，已电话核实")
    page.get_by_role("button", name="认领").click()
    expect(page.locator("#assign-error")).to_contain_text("统一社会信用代码无效")
    expect(page.get_by_label("处理说明").first).to_have_value("分公司代缴，已电话核实")  # kept
    page.screenshot(path=screenshots / "24-console-exception-refused.png", full_page=True)
    page.get_by_label("投标人统一社会信用代码").fill(odd["uscc"])
    page.get_by_role("button", name="认领").click()
    expect(page.locator("#exception-status")).to_have_text("已认领")
    expect(page.get_by_role("status").first).to_contain_text("款项已认领")

    # The bank's statement: both arrivals, plus a credit nobody told us about.
    statement = tmp_path / "escrow-statement.csv"
    statement.write_bytes(
        _csv_statement(
            [
                (
                    matched_reference(live_gateway, matched["deposit_id"]),
                    800_000_00,
                    good["name"],
                    "6222020000000101",
                ),
                (odd_reference, 800_000_00, "南方样例市政工程有限公司第三分公司", "6222020000000303"),
                ("BANK-INT-1", 123_45, "示范银行深圳分行", "755900000000999"),
            ]
        )
    )
    page.get_by_role("link", name="银行对账").click()
    page.screenshot(path=screenshots / "25-console-statements.png", full_page=True)
    page.get_by_label("文件格式").select_option("csv")
    page.get_by_label("对账单文件").set_input_files(statement)
    page.get_by_role("button", name="上传并对账").click()
    expect(page.get_by_role("status").first).to_contain_text("对账单已导入")
    expect(page.locator("#run-unmatched-lines")).to_contain_text("1 笔 · ¥123.45")
    page.screenshot(path=screenshots / "26-console-run.png", full_page=True)

    # The stray credit: written off with a reason.
    page.get_by_role("link", name="处理差异").click()
    row = page.locator("#unmatched-lines tr", has_text="BANK-INT-1")
    row.get_by_label("核销原因").fill("银行结息，另行登记")
    row.get_by_role("button", name="核销").click()
    expect(page.get_by_role("status").first).to_contain_text("已核销")
    expect(page.locator("body")).not_to_contain_text("BANK-INT-1")
    page.screenshot(path=screenshots / "27-console-resolved.png", full_page=True)

    page.get_by_role("link", name="应退款").click()
    expect(page.get_by_role("heading", name="应退保证金")).to_be_visible()
    page.screenshot(path=screenshots / "28-console-refunds.png", full_page=True)
    page.get_by_role("link", name="退款批次").click()
    page.screenshot(path=screenshots / "29-console-batches.png", full_page=True)
    page.get_by_role("link", name="账簿核验").click()
    page.get_by_role("button", name="立即核验").click()
    expect(page.locator("#ledger-verdict")).to_have_text("账簿一致：未发现任何问题。")
    page.screenshot(path=screenshots / "30-console-ledger.png", full_page=True)

    small = browser.new_context(
        base_url=live_gateway.base_url, viewport={"width": 375, "height": 740}, is_mobile=True, locale="zh-CN"
    )
    try:
        mobile = small.new_page()
        _finance(mobile, live_gateway)
        _fits_a_phone(mobile)
        mobile.screenshot(path=screenshots / "31-console-deposits-phone.png", full_page=True)
        mobile.goto("/console/statements")
        _fits_a_phone(mobile)
        mobile.screenshot(path=screenshots / "32-console-statements-phone.png", full_page=True)
    finally:
        small.close()


def matched_reference(gateway: LiveGateway, deposit_id: str) -> str:
    with sqlite3.connect(f"file:{gateway.database}?mode=ro", uri=True) as db:
        return str(
            db.execute("SELECT bank_reference FROM deposits WHERE id = ?", (deposit_id,)).fetchone()[0]
        )


def test_a_statement_that_does_not_parse_is_refused_readably_and_changes_nothing(
    context: BrowserContext, live_gateway: LiveGateway, screenshots: Path, tmp_path: Path
) -> None:
    before = (_count(live_gateway, "recon_imports"), _count(live_gateway, "recon_statement_lines"))
    broken = tmp_path / "broken.csv"
    broken.write_bytes("账号: 755900000000001\n流水号,交易日期\nX1,昨天\n".encode("gbk"))
    page = context.new_page()
    _finance(page, live_gateway)
    page.goto("/console/statements")
    page.get_by_label("对账单文件").set_input_files(broken)
    page.get_by_role("button", name="上传并对账").click()
    expect(page.locator("#upload-error")).to_contain_text("对账单无法解析，未做任何更改")
    expect(page.locator("#upload-error")).to_contain_text("位置")
    page.screenshot(path=screenshots / "33-console-bad-statement.png", full_page=True)
    after = (_count(live_gateway, "recon_imports"), _count(live_gateway, "recon_statement_lines"))
    assert after == before


def test_an_expired_finance_token_goes_back_to_sign_in_with_a_message(
    context: BrowserContext, live_gateway: LiveGateway, screenshots: Path
) -> None:
    key = (live_gateway.data_dir / "secrets" / "token.key").read_bytes().strip()
    center = live_gateway.credentials["finance"]["center_code"]
    expired = issue_token(
        key, Role.FINANCE, center, now=datetime.now(UTC) - timedelta(days=2), ttl=timedelta(days=1)
    )
    page = context.new_page()
    page.goto("/console/login")
    page.get_by_label("登录凭证").fill(expired)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#login-message")).to_have_text("登录凭证已过期，请重新登录。")
    expect(page.get_by_label("登录凭证")).to_have_value(expired)
    page.screenshot(path=screenshots / "34-console-expired-token.png", full_page=True)
    context.add_cookies([{"name": "gw_console", "value": expired, "url": f"{live_gateway.base_url}/console"}])
    page.goto("/console/refunds")
    expect(page).to_have_url(re.compile(r"/console/login\?reason=token_expired$"))
    expect(page.locator("#login-message")).to_contain_text("已过期")


def test_the_qr_code_of_a_letter_bought_in_the_portal_opens_the_verification_page(
    browser: Browser, context: BrowserContext, live_gateway: LiveGateway, screenshots: Path, tmp_path: Path
) -> None:
    page = context.new_page()
    sign_in(page, live_gateway.credentials["bidders"][0]["token"])
    apply(page, "SZ2026-0158-02")
    accept_bank(page)
    page.locator("#pay-button").click()
    expect(page.locator("#order-status")).to_have_text("完成")
    guarantee_no = page.locator("#guarantee-no").inner_text().strip()
    with page.expect_download() as download_info:
        page.locator("#letter-link").click()
    letter = tmp_path / "letter.pdf"
    download_info.value.save_as(letter)

    # Scan the QR code as a phone would: render the letter's page and decode the code in the picture.
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(letter), str(tmp_path / "page")],
        check=True,
    )
    image = Image.open(next(tmp_path.glob("page*.png")))
    codes = [code for code in zxingcpp.read_barcodes(image) if code.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(codes) == 1
    url = codes[0].text
    assert url.startswith(f"{live_gateway.base_url}/verify?")
    assert f"no={guarantee_no}" in url

    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, locale="zh-CN")
    try:
        scanned = phone.new_page()
        response = scanned.goto(url)
        assert response is not None
        assert response.status == 200
        assert response.headers["cache-control"] == "no-store"
        assert "style-src 'self'" in response.headers["content-security-policy"]
        expect(scanned.locator("#verdict")).to_have_text("核验通过：保函真实有效")
        expect(scanned.locator("main")).to_contain_text(guarantee_no)
        expect(scanned.locator("main")).to_contain_text("人民币叁佰万元整")
        expect(scanned.locator("main")).to_contain_text("示范银行股份有限公司深圳分行")
        # The shared stylesheet applies under the page's CSP (the verdict is coloured), and no script runs.
        colour = scanned.locator("#verdict").evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
        assert scanned.locator("script").count() == 0
        _fits_a_phone(scanned)
        scanned.screenshot(path=screenshots / "40-verify-phone.png", full_page=True)
    finally:
        phone.close()
