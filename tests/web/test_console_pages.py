"""The finance console's pages through the TestClient (SQLite and PostgreSQL): sign-in with a finance
token only, every object scoped to the token's center (another center's is the not-found page and
cannot be acted on), readable refusals that keep the form's input, actions that run once per form,
and the exports are the finance API's files."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook
from sqlalchemy import func, select

from contracts.capitals import amount_in_capitals
from gateway.app import create_app
from gateway.auth.tokens import Role, issue_token
from gateway.composition import Container
from gateway.db import transaction
from gateway.deposits.tables import Deposit, DepositException, RefundBatch, RefundInstruction
from gateway.finance import section_events
from gateway.reconciliation.tables import StatementImport, StatementLineRow
from tests.deposits.deposit_factories import CENTER, DEPOSIT, OTHER_CENTER, World, bidder, build_world
from tests.reconciliation.recon_factories import Row, csv_cn
from tests.web.portal_helpers import hidden, sign_in


@pytest.fixture
def world(container: Container) -> Iterator[World]:
    yield from build_world(container)


@pytest.fixture
def console(world: World) -> Iterator[TestClient]:
    """A browser-like client of its own (cookies), signed in as finance of CENTER."""
    with TestClient(create_app(world.container)) as client:
        assert sign_in(client, _finance_token(world), "console").status_code == 303
        yield client


def _finance_token(world: World, center: str = CENTER, *, issued_ago: timedelta = timedelta(0)) -> str:
    now = world.clock() - issued_ago
    return issue_token(world.container.token_key, Role.FINANCE, center, now=now, ttl=timedelta(days=30))


def _form(page: str) -> dict[str, str]:
    return {"csrf": hidden(page, "csrf"), "form_key": hidden(page, "form_key")}


def _count(world: World, table: type) -> int:
    with world.container.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _wrong_amount(world: World, section: str, n: int) -> str:
    exception_id: str = world.notice(section, n, amount_fen=DEPOSIT + 1).json()["exception_id"]
    return exception_id


# ---------------------------------------------------------------------- who may sign in


def test_finance_signs_in_to_a_cookie_of_its_own_path(world: World) -> None:
    with TestClient(create_app(world.container)) as client:
        assert client.get("/console/deposits", follow_redirects=False).headers["location"] == "/console/login"
        response = sign_in(client, _finance_token(world), "console")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/deposits"
        cookie = response.headers["set-cookie"].lower()
        assert "gw_console=" in cookie
        assert "path=/console" in cookie
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        page = client.get("/console/deposits")
        assert page.status_code == 200
        assert "DEP-CENTER 交易中心" in page.text  # the center's name in the header


def test_a_bidder_token_is_refused_at_sign_in_and_as_a_cookie(world: World) -> None:
    uscc, name = bidder(1)
    token = issue_token(
        world.container.token_key, Role.BIDDER, uscc, now=world.clock(), ttl=timedelta(days=1), name=name
    )
    with TestClient(create_app(world.container)) as client:
        response = sign_in(client, token, "console")
        assert response.status_code == 403
        assert "不是财务凭证" in response.text
        assert token in response.text  # the form keeps its input
        assert "gw_console=" not in response.headers.get("set-cookie", "")
        client.cookies.set("gw_console", token, path="/console")
        page = client.get("/console/deposits", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/console/login?reason=wrong_role_finance"
        # And a finance token is no bidder session either.
        refused = sign_in(client, _finance_token(world))
        assert refused.status_code == 403
        assert "不是投标人凭证" in refused.text


def test_an_expired_finance_session_goes_back_to_sign_in_with_a_message(
    world: World, console: TestClient
) -> None:
    console.cookies.set("gw_console", _finance_token(world, issued_ago=timedelta(days=31)), path="/console")
    response = console.get("/console/exceptions", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?reason=token_expired"
    assert 'gw_console=""' in response.headers["set-cookie"]  # the dead cookie is dropped
    assert "登录凭证已过期" in console.get(response.headers["location"]).text


# ---------------------------------------------------------------------- object-level authorization


def test_another_centers_deposits_are_not_found_and_not_listed(world: World, console: TestClient) -> None:
    mine = world.add_section()
    theirs = world.add_section(center=OTHER_CENTER)
    my_deposit = world.notice(mine, 1).json()["deposit_id"]
    their_deposit = world.bank_post(
        "/bank/v1/deposit-notices",
        {
            "bank_reference": "OTHER-1", "subaccount": world.subaccount(theirs, 2), "amount_fen": DEPOSIT,
            "payer_name": bidder(2)[1], "payer_account": "4000000000000002", "value_date": "2026-11-02",
        },
        other=True,
    ).json()["deposit_id"]  # fmt: skip
    assert their_deposit
    listing = console.get("/console/deposits")
    assert my_deposit in listing.text
    assert their_deposit not in listing.text
    assert theirs not in listing.text
    assert console.get(f"/console/deposits/{my_deposit}").status_code == 200
    page = console.get(f"/console/deposits/{their_deposit}")
    assert page.status_code == 404
    assert "页面不存在" in page.text
    assert their_deposit not in page.text
    # Nor can it be forfeited from here.
    form = _form(console.get(f"/console/deposits/{my_deposit}").text)
    response = console.post(f"/console/deposits/{their_deposit}/forfeit", data={**form, "reason": "试图没收"})
    assert response.status_code == 404
    with world.container.sessions() as session:
        assert session.get(Deposit, their_deposit).status == "held"  # type: ignore[union-attr]
    # The export is the finance API's: only this center's rows.
    export = console.get("/console/deposits/export", params={"format": "csv"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    text = export.content.decode("utf-8-sig")
    assert my_deposit in text
    assert their_deposit not in text
    assert "80000.00" in text
    assert console.get("/console/deposits/export", params={"format": "pdf"}).status_code == 404


def test_another_centers_exception_cannot_be_seen_assigned_or_returned(
    world: World, console: TestClient
) -> None:
    theirs = world.add_section(center=OTHER_CENTER)
    their_exception = world.bank_post(
        "/bank/v1/deposit-notices",
        {
            "bank_reference": "OTHER-X", "subaccount": world.subaccount(theirs, 3), "amount_fen": 1234,
            "payer_name": bidder(3)[1], "payer_account": "4000000000000003", "value_date": "2026-11-02",
        },
        other=True,
    ).json()["exception_id"]  # fmt: skip
    assert console.get(f"/console/exceptions/{their_exception}").status_code == 404
    assert their_exception not in console.get("/console/exceptions").text
    form = {"csrf": hidden(console.get("/console/ledger").text, "csrf"), "form_key": "k" * 20}
    assign = console.post(
        f"/console/exceptions/{their_exception}/assign",
        data={**form, "section_code": theirs, "bidder_uscc": bidder(3)[0], "note": "认领"},
    )
    assert assign.status_code == 404
    returned = console.post(f"/console/exceptions/{their_exception}/return", data={**form, "note": "退回"})
    assert returned.status_code == 404
    with world.container.sessions() as session:
        assert session.get(DepositException, their_exception).status == "open"  # type: ignore[union-attr]
    assert _count(world, RefundInstruction) == 0
    assert console.get("/console/batches/rb_not_here").status_code == 404
    assert console.get("/console/deposits/%00").status_code == 404  # never reaches the database


# ---------------------------------------------------------------------- the exception queue


def test_assigning_an_exception_keeps_the_input_on_refusal_and_acts_once(
    world: World, console: TestClient
) -> None:
    section = world.add_section()
    exception_id = _wrong_amount(world, section, 4)
    queue = console.get("/console/exceptions")
    assert "金额与保证金不符" in queue.text
    assert "80,000.01" in queue.text
    page = console.get(f"/console/exceptions/{exception_id}")
    assert "人民币捌万元零壹分" in page.text
    form = _form(page.text)
    typo = {**form, "section_code": section, "bidder_uscc": "91440300MA5D00004Z", "note": "分公司代付"}
    refused = console.post(f"/console/exceptions/{exception_id}/assign", data=typo)
    assert refused.status_code == 422
    assert "统一社会信用代码无效" in refused.text
    assert 'value="91440300MA5D00004Z"' in refused.text  # the form keeps its input
    assert "分公司代付" in refused.text
    no_note = console.post(
        f"/console/exceptions/{exception_id}/assign", data={**typo, "bidder_uscc": bidder(4)[0], "note": " "}
    )
    assert no_note.status_code == 422
    assert "处理说明" in no_note.text
    assert _count(world, Deposit) == 0

    good = {**typo, "bidder_uscc": bidder(4)[0]}  # refused before acting: the form's key is still unused
    first = console.post(f"/console/exceptions/{exception_id}/assign", data=good, follow_redirects=False)
    second = console.post(f"/console/exceptions/{exception_id}/assign", data=good, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert (
        first.headers["location"]
        == second.headers["location"]
        == f"/console/exceptions/{exception_id}?notice=assigned"
    )
    with world.container.sessions() as session:
        deposits = session.scalars(select(Deposit)).all()
        assert [(d.bidder_uscc, d.amount_fen) for d in deposits] == [(bidder(4)[0], DEPOSIT + 1)]
        assert session.get(DepositException, exception_id).status == "assigned"  # type: ignore[union-attr]
    done = console.get(first.headers["location"])
    assert "款项已认领" in done.text
    assert "已认领" in done.text
    assert 'id="deposit-link"' in done.text
    # A fresh form on the assigned exception: refused readably, nothing more happens.
    again = console.post(
        f"/console/exceptions/{exception_id}/assign", data={**good, "form_key": "another-form-key-1234"}
    )
    assert again.status_code == 409
    assert "当前状态不允许此操作" in again.text
    assert _count(world, Deposit) == 1


def test_returning_an_exception_sends_an_instruction_to_the_bank(world: World, console: TestClient) -> None:
    section = world.add_section()
    exception_id = _wrong_amount(world, section, 5)
    form = _form(console.get(f"/console/exceptions/{exception_id}").text)
    form["form_key"] = form["form_key"].removesuffix("-a") + "-r"
    response = console.post(
        f"/console/exceptions/{exception_id}/return",
        data={**form, "note": "金额错误，退回重交"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with world.container.sessions() as session:
        instruction = session.scalars(select(RefundInstruction)).one()
        assert (instruction.kind, instruction.status, instruction.amount_fen) == (
            "return",
            "sent",
            DEPOSIT + 1,
        )
    assert instruction.id in world.bank.received
    page = console.get(response.headers["location"])
    assert "退回中" in page.text
    assert "已发送银行" in page.text


# ---------------------------------------------------------------------- deposits, refunds, batches


def test_forfeit_needs_a_reason_and_then_forfeits(world: World, console: TestClient) -> None:
    section = world.add_section()
    deposit_id = world.notice(section, 6).json()["deposit_id"]
    page = console.get(f"/console/deposits/{deposit_id}")
    assert "人民币捌万元整" in page.text
    assert "没收该保证金" in page.text
    form = _form(page.text)
    refused = console.post(f"/console/deposits/{deposit_id}/forfeit", data={**form, "reason": ""})
    assert refused.status_code == 422
    assert "没收原因" in refused.text
    done = console.post(
        f"/console/deposits/{deposit_id}/forfeit",
        data={**form, "reason": "开标后撤销投标"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = console.get(done.headers["location"])
    assert "已没收" in page.text
    assert "开标后撤销投标" in page.text
    assert "没收该保证金" not in page.text
    totals = console.get("/console/deposits").text
    assert re.search(r'aria-label="测试标段 [^"]+ 已没收 1 笔"', totals)


def test_refunds_due_a_batch_created_once_and_its_instructions(world: World, console: TestClient) -> None:
    section = world.add_section()
    ids = [world.notice(section, n).json()["deposit_id"] for n in (7, 8)]
    with transaction(world.container.sessions) as session:
        section_events.on_section_terminated(session, section, now=world.clock())
    world.clock.advance(days=7)  # two days past the 5-day limit
    page = console.get("/console/refunds")
    assert "2 笔已逾期" in page.text
    assert "人民币壹拾陆万元整" in page.text
    assert "逾期 2 天" in page.text
    assert console.get("/console/refunds", params={"show": "upcoming"}).text.count('class="overdue"') == 0
    xlsx = console.get("/console/refunds/export", params={"format": "xlsx", "show": "overdue"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert sorted(row[0] for row in list(sheet.iter_rows(values_only=True))[1:]) == sorted(ids)

    form = _form(page.text)
    bad_date = console.post(
        "/console/refund-batches", data={**form, "deposit_ids": ids, "refund_date": "2026-13-40"}
    )
    assert bad_date.status_code == 422
    assert "退款日期" in bad_date.text
    assert 'value="2026-13-40"' in bad_date.text
    assert _count(world, RefundBatch) == 0
    one = {**form, "deposit_ids": ids[:1], "refund_date": ""}
    first = console.post("/console/refund-batches", data=one, follow_redirects=False)
    second = console.post("/console/refund-batches", data=one, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert _count(world, RefundBatch) == 1
    batch_page = console.get(first.headers["location"])
    assert "退款批次已创建并发送银行" in batch_page.text
    assert "已发送银行 1" in batch_page.text
    with world.container.sessions() as session:
        paid = session.scalars(select(RefundInstruction)).one()
    assert paid.interest_fen > 0  # seven days of interest ride along
    assert f"人民币{amount_in_capitals(paid.amount_fen)}" in batch_page.text
    batch_id = first.headers["location"].split("/")[-1].split("?")[0]
    listing = console.get("/console/batches")
    assert batch_id in listing.text
    export = console.get(f"/console/batches/{batch_id}/export", params={"format": "csv"})
    assert ids[0] in export.content.decode("utf-8-sig")
    with world.container.sessions() as session:
        statuses = {d.id: d.status for d in session.scalars(select(Deposit))}
    assert statuses == {ids[0]: "refund_pending", ids[1]: "refundable"}
    # The bank pays; asking it settles the instruction and the deposit is refunded.
    poll = console.post(
        f"/console/batches/{batch_id}/poll", data={"csrf": form["csrf"]}, follow_redirects=False
    )
    assert poll.status_code == 303
    assert "已付款 1" in console.get(poll.headers["location"]).text
    with world.container.sessions() as session:
        assert session.get(Deposit, ids[0]).status == "refunded"  # type: ignore[union-attr]


def test_a_post_without_the_sessions_csrf_token_does_nothing(world: World, console: TestClient) -> None:
    section = world.add_section()
    deposit_id = world.notice(section, 9).json()["deposit_id"]
    form = _form(console.get(f"/console/deposits/{deposit_id}").text)
    response = console.post(
        f"/console/deposits/{deposit_id}/forfeit", data={**form, "csrf": "forged", "reason": "x"}
    )
    assert response.status_code == 403
    assert "页面已过期或来源不明" in response.text
    with world.container.sessions() as session:
        assert session.get(Deposit, deposit_id).status == "held"  # type: ignore[union-attr]


def test_the_ledger_check_page_runs_the_books_check(world: World, console: TestClient) -> None:
    section = world.add_section()
    world.notice(section, 10)
    page = console.get("/console/ledger")
    assert "立即核验" in page.text
    assert "核验结果" not in page.text
    result = console.post("/console/ledger/check", data={"csrf": hidden(page.text, "csrf")})
    assert result.status_code == 200
    assert "账簿一致：未发现任何问题。" in result.text
    match = re.search(r"<dt>转账</dt><dd>([0-9,]+)</dd>", result.text)
    assert match is not None
    assert int(match.group(1).replace(",", "")) >= 1


# ---------------------------------------------------------------------- statements and reconciliation


def _statement(world: World, deposit_id: str, *extra: Row) -> bytes:
    with world.container.sessions() as session:
        row = session.get(Deposit, deposit_id)
        assert row is not None
        line = Row(
            row.amount_fen,
            True,
            row.value_date,
            row.bank_reference,
            party=row.payer_account,
            name=row.payer_name,
        )
    return csv_cn([line, *extra], account="75516217000001")


def _upload(console: TestClient, data: bytes, fmt: str = "csv") -> Response:
    page = console.get("/console/statements")
    form = {
        "csrf": hidden(page.text, "csrf"),
        "form_key": hidden(page.text, "form_key"),
        "statement_format": fmt,
    }
    response: Response = console.post(
        "/console/statements", data=form, files={"file": ("march.csv", data)}, follow_redirects=False
    )
    return response


def test_a_statement_reconciles_and_an_unmatched_line_is_written_off(
    world: World, console: TestClient
) -> None:
    section = world.add_section()
    deposit_id = world.notice(section, 11).json()["deposit_id"]
    stray = Row(123_45, True, date(2026, 11, 2), "BANK-9", party="6222000000000009", name="某某公司")
    response = _upload(console, _statement(world, deposit_id, stray))
    assert response.status_code == 303, response.text
    run = console.get(response.headers["location"])
    assert "对账单已导入并完成对账" in run.text
    assert 'id="run-matches">1 组' in run.text
    assert "1 笔 · ¥123.45" in run.text
    page = console.get("/console/statements")
    assert "BANK-9" in page.text
    match = re.search(r'id="line-(\d+)"', page.text)
    assert match is not None
    line_id = match.group(1)
    key = re.search(rf'name="form_key" value="([^"]+-l{line_id})"', page.text)
    assert key is not None
    refused = console.post(
        f"/console/statements/lines/{line_id}/write-off",
        data={"csrf": hidden(page.text, "csrf"), "form_key": key.group(1), "reason": ""},
    )
    assert refused.status_code == 422
    assert "核销原因" in refused.text
    done = console.post(
        f"/console/statements/lines/{line_id}/write-off",
        data={"csrf": hidden(page.text, "csrf"), "form_key": key.group(1), "reason": "银行结息，另行入账"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with world.container.sessions() as session:
        assert session.get(StatementLineRow, int(line_id)).status == "written_off"  # type: ignore[union-attr]
    assert "BANK-9" not in console.get("/console/statements").text
    # The same statement again matches nothing twice.
    again = _upload(console, _statement(world, deposit_id, stray))
    assert again.status_code == 303
    assert 'id="run-matches">0 组' in console.get(again.headers["location"]).text


def test_a_statement_that_does_not_parse_says_where_and_changes_nothing(
    world: World, console: TestClient
) -> None:
    response = _upload(console, "账号: 1\n流水号,交易日期\nBR1,not-a-date\n".encode("gbk"))
    assert response.status_code == 422
    assert "对账单无法解析，未做任何更改" in response.text
    assert "位置" in response.text
    assert _count(world, StatementImport) == 0
    assert _count(world, StatementLineRow) == 0
    other = TestClient(create_app(world.container))
    with other:
        assert sign_in(other, _finance_token(world, OTHER_CENTER), "console").status_code == 303
        section = world.add_section()
        deposit_id = world.notice(section, 12).json()["deposit_id"]
        run = _upload(console, _statement(world, deposit_id)).headers["location"].split("?")[0]
        assert console.get(run).status_code == 200
        assert other.get(run).status_code == 404
