"""Steps the browser tests share: sign in, apply, accept, read the live gateway's database."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveGateway

BANK = "示范银行股份有限公司深圳分行"


def sign_in(page: Page, token: str, area: str = "portal") -> None:
    page.goto(f"/{area}/login")
    page.get_by_label("登录凭证").fill(token)
    page.get_by_role("button", name="登录").click()
    home = "sections" if area == "portal" else "deposits"
    expect(page).to_have_url(re.compile(rf"/{area}/{home}$"))


def apply(page: Page, section: str) -> str:
    page.goto("/portal/sections")
    page.locator(f"#section-{section}").get_by_role("button", name="申请保函").click()
    expect(page.locator("#order-status")).to_have_text("已报价")
    match = re.search(r"/portal/orders/([^?/]+)", page.url)
    assert match is not None
    return match.group(1)


def accept_bank(page: Page) -> None:
    page.get_by_role("button", name=f"选择{BANK}").click()
    expect(page.locator("#order-status")).to_have_text("待支付")


def payments(gateway: LiveGateway, application_id: str) -> list[str]:
    with sqlite3.connect(f"file:{gateway.database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT status FROM payments WHERE application_id = ?", (application_id,)
        ).fetchall()
    return [str(row[0]) for row in rows]
