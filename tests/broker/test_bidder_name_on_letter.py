"""The letter names the applicant by its registered name; a USCC is never printed in its place."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.auth.tokens import Role, issue_token
from gateway.broker.tables import Application
from gateway.composition import Container
from tests.broker.broker_factories import bidder_uscc, headers, seed_market

BIDDER = bidder_uscc(7)


def nameless_headers(container: Container, key: str) -> dict[str, str]:
    token = issue_token(
        container.token_key, Role.BIDDER, BIDDER, now=datetime.now(UTC), ttl=timedelta(hours=1)
    )
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": key}


def test_without_a_name_the_application_is_refused_and_nothing_is_created(
    client: TestClient, container: Container
) -> None:
    market = seed_market(container)
    response = client.post(
        "/v1/applications", json={"section_code": market.section}, headers=nameless_headers(container, "n-1")
    )
    assert response.status_code == 422
    assert response.json()["code"] == "bidder_name_required"
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 0


def test_the_name_from_the_request_or_token_is_what_the_letter_prints(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    market = seed_market(container)
    app = client.post(
        "/v1/applications",
        json={"section_code": market.section, "bidder_name": "示范路桥有限公司"},
        headers=nameless_headers(container, "n-2"),
    ).json()
    bank = next(o for o in app["offers"] if o["institution"]["code"] == "SBX-BANK")
    client.post(
        f"/v1/applications/{app['id']}/accept",
        json={"offer_id": bank["offer_id"]},
        headers=headers(container, BIDDER, "n-3"),
    )
    issued = client.post(
        f"/v1/applications/{app['id']}/payments",
        json={"method": "sandbox"},
        headers=headers(container, BIDDER, "n-4"),
    ).json()
    assert issued["status"] == "issued", issued
    pdf = client.get(
        f"/v1/guarantees/{issued['guarantee_no']}/letter.pdf", headers=headers(container, BIDDER)
    )
    (tmp_path / "letter.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "letter.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout.replace("\n", "")
    assert "鉴于示范路桥有限公司" in text
    assert f"鉴于{BIDDER}" not in text
    with container.sessions() as session:
        row = session.scalars(select(Application)).one()
        assert row.bidder_name == "示范路桥有限公司"
