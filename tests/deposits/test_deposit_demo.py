"""The demo seeds an escrow account: a demo bidder gets a sub-account, the demo escrow bank's
signed notice posts a deposit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.composition import Container
from gateway.demo.seed import seed_demo
from signing.http_signature import sign_request
from signing.sm2 import Sm2PrivateKey


def test_demo_bidders_can_pay_a_cash_deposit(container: Container) -> None:
    credentials = json.loads(seed_demo(container).read_text())
    bidder = credentials["bidders"][0]
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        sections = client.get("/v1/sections", headers={"Authorization": f"Bearer {bidder['token']}"}).json()
        code = sections["data"][0]["code"]
        account = client.get(
            f"/v1/sections/{code}/deposit-account", headers={"Authorization": f"Bearer {bidder['token']}"}
        )
        assert account.status_code == 200, account.text
        escrow = credentials["escrow_bank"]
        notice = {
            "bank_reference": "DEMO-1",
            "subaccount": account.json()["subaccount"],
            "amount_fen": account.json()["amount_due_fen"],
            "payer_name": bidder["name"],
            "payer_account": "6222020000000001",
            "value_date": datetime.now(UTC).date().isoformat(),
        }
        body = json.dumps(notice).encode()
        timestamp = int(datetime.now(UTC).timestamp())
        key = Sm2PrivateKey.from_pem(escrow["private_key_pem"].encode())
        response = client.post(
            "/bank/v1/deposit-notices",
            content=body,
            headers={
                "Authorization": sign_request(
                    key, escrow["key_id"], "POST", "/bank/v1/deposit-notices", body, timestamp=timestamp
                ),
                "Idempotency-Key": "demo-1",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["outcome"] == "matched"
