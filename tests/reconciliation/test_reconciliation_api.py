"""Finance API: upload starts a run; runs, matches and exception lists; resolve by hand; exports;
object-level by center (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from gateway.auth.tokens import Role, issue_token
from gateway.composition import Container
from gateway.db import transaction
from gateway.reconciliation import repository
from tests.reconciliation.recon_factories import CENTER, Row, book_of, csv_cn, deposit, mt940, refund

DAY = date(2026, 3, 5)


def auth(container: Container, center: str = CENTER, role: Role = Role.FINANCE) -> dict[str, str]:
    token = issue_token(container.token_key, role, center, now=datetime.now(UTC), ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def seed(container: Container) -> None:
    with transaction(container.sessions) as session:
        deposit(session, "dep-1", 100_000_00, ref="BR1", party="6222000000000001", day=DAY)
        deposit(session, "dep-2", 40_000_00, ref="BR2", party="6222000000000002", day=DAY)
        refund(session, "RF1", 100_000_00, 0, party="6222000000000001", day=DAY)


STATEMENT = [
    Row(100_000_00, True, DAY, "BR1", party="6222000000000001"),
    Row(100_000_00, False, DAY, "BANK-8", customer_ref="RF1", party="6222000000000001"),
    Row(123_45, True, DAY, "BANK-9", party="6222000000000009"),
]


def upload(client: TestClient, container: Container, data: bytes, fmt: str = "csv", **headers: str) -> object:
    return client.post(
        f"/finance/v1/statements?format={fmt}&filename=march.{fmt}",
        content=data,
        headers={**auth(container), "Content-Type": "application/octet-stream", **headers},
    )


def test_upload_reconciles_and_finance_resolves_the_exceptions(
    client: TestClient, container: Container
) -> None:
    seed(container)
    response = upload(client, container, csv_cn(STATEMENT))
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    run = body["run"]
    assert (body["lines_total"], body["lines_new"]) == (3, 3)
    assert (run["matches"], run["refunds_posted"], run["unmatched_lines"], run["unmatched_items"]) == (
        2,
        1,
        1,
        1,
    )
    assert run["unmatched_lines_fen"] == 123_45

    runs = client.get("/finance/v1/reconciliation/runs", headers=auth(container)).json()
    assert [r["id"] for r in runs["data"]] == [run["id"]]
    assert client.get(f"/finance/v1/reconciliation/runs/{run['id']}", headers=auth(container)).json() == run
    matches = client.get(
        f"/finance/v1/reconciliation/runs/{run['id']}/matches", headers=auth(container)
    ).json()
    assert sorted((m["rule"], m["outcome"], m["transfer_ids"][0]) for m in matches["data"]) == [
        ("reference", "none", "dep-1"),
        ("reference", "posted", "RF1:deposit"),
    ]
    lines = client.get("/finance/v1/reconciliation/unmatched-lines", headers=auth(container)).json()["data"]
    items = client.get("/finance/v1/reconciliation/unmatched-items", headers=auth(container)).json()["data"]
    assert [(line["bank_reference"], line["amount_fen"]) for line in lines] == [("BANK-9", 123_45)]
    assert [(item["transfer_id"], item["amount_fen"]) for item in items] == [("dep-2", 40_000_00)]

    # The amounts differ: a manual match is refused, nothing changes.
    refused = client.post(
        "/finance/v1/reconciliation/matches",
        json={"line_ids": [lines[0]["id"]], "transfer_ids": ["dep-2"], "note": "same payer?"},
        headers=auth(container),
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "resolution_refused"
    written = client.post(
        f"/finance/v1/reconciliation/unmatched-lines/{lines[0]['id']}/write-off",
        json={"reason": "bank fee refund, booked outside the escrow"},
        headers=auth(container),
    )
    assert written.status_code == 200
    assert written.json()["status"] == "written_off"
    gone = client.post(
        "/finance/v1/reconciliation/unmatched-items/dep-2/write-off",
        json={"reason": "paid in cash at the counter"},
        headers=auth(container),
    )
    assert gone.status_code == 204
    assert (
        client.get("/finance/v1/reconciliation/unmatched-lines", headers=auth(container)).json()["data"] == []
    )
    assert (
        client.get("/finance/v1/reconciliation/unmatched-items", headers=auth(container)).json()["data"] == []
    )
    again = client.post(
        "/finance/v1/reconciliation/unmatched-items/dep-2/write-off",
        json={"reason": "x"},
        headers=auth(container),
    )
    assert again.status_code == 409
    # dep-1 was closed by the run (on its one-item match row): it cannot be written off either.
    matched = client.post(
        "/finance/v1/reconciliation/unmatched-items/dep-1/write-off",
        json={"reason": "x"},
        headers=auth(container),
    )
    assert matched.status_code == 409

    # The same statement again: nothing new, nothing matched twice.
    second = upload(client, container, csv_cn(STATEMENT)).json()  # type: ignore[attr-defined]
    assert (second["lines_new"], second["run"]["matches"], second["run"]["refunds_posted"]) == (0, 0, 0)
    with container.sessions() as session:
        assert book_of(session).check().clean
        assert repository.dangling_references(session) == []


def test_manual_match_posts_a_pending_refund_and_exports_list_it(
    client: TestClient, container: Container
) -> None:
    seed(container)
    # The bank lost the reference and paid from another account number: nothing matches by itself.
    line = Row(100_000_00, False, date(2026, 3, 20), "BANK-20", party="6222777700000001")
    run = upload(client, container, csv_cn([line])).json()["run"]  # type: ignore[attr-defined]
    assert run["matches"] == 0
    (open_line,) = client.get("/finance/v1/reconciliation/unmatched-lines", headers=auth(container)).json()[
        "data"
    ]
    csv_export = client.get("/finance/v1/reconciliation/unmatched-items?format=csv", headers=auth(container))
    assert csv_export.headers["content-type"].startswith("text/csv")
    exported = csv_export.content.decode("utf-8-sig").splitlines()
    assert exported[0].startswith("账务流水 transfer id")
    assert sorted(row.split(",")[0] for row in exported[1:]) == ["RF1:deposit", "dep-1", "dep-2"]
    assert "100000.00" in csv_export.content.decode("utf-8-sig")

    made = client.post(
        "/finance/v1/reconciliation/matches",
        json={"line_ids": [open_line["id"]], "transfer_ids": ["RF1:deposit"], "note": "confirmed by phone"},
        headers=auth(container),
    )
    assert made.status_code == 201, made.text
    assert made.json()["outcome"] == "posted"
    with container.sessions() as session:
        assert book_of(session).get_transfer("recon-post:RF1:deposit") is not None

    xlsx = client.get(
        f"/finance/v1/reconciliation/runs/{run['id']}/matches?format=xlsx", headers=auth(container)
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert sheet.max_row == 1  # the run itself matched nothing; the manual match is not the run's


def test_another_center_sees_nothing_and_bad_files_are_422(client: TestClient, container: Container) -> None:
    seed(container)
    run = upload(client, container, csv_cn(STATEMENT)).json()["run"]  # type: ignore[attr-defined]
    other = auth(container, "OTHER")
    assert client.get(f"/finance/v1/reconciliation/runs/{run['id']}", headers=other).status_code == 404
    assert client.get("/finance/v1/reconciliation/runs", headers=other).json()["data"] == []
    assert client.get("/finance/v1/reconciliation/unmatched-lines", headers=other).json()["data"] == []
    assert client.get("/finance/v1/reconciliation/unmatched-items", headers=other).json()["data"] == []
    bidder = auth(container, "91440300MA5FXXXX1A", Role.BIDDER)
    assert client.get("/finance/v1/reconciliation/runs", headers=bidder).status_code == 403

    broken = mt940(STATEMENT).replace(b":61:260305C100000,00", b":61:260305C100000,001")
    refused = upload(client, container, broken, "mt940")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    problem = refused.json()  # type: ignore[attr-defined]
    assert problem["code"] == "statement_parse_error"
    assert problem["location"] == "line 5"
    assert (
        client.get("/finance/v1/reconciliation/runs", headers=auth(container)).json()["data"][0]["id"]
        == run["id"]
    )
    wrong = upload(client, container, "流水号\n".encode("utf-16"), "csv")
    assert wrong.status_code == 422  # type: ignore[attr-defined]
