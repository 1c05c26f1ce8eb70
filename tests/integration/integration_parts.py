"""Shared parts of the end-to-end tests: the center as a signed system caller on the world's clock."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from httpx import Response

from gateway.system_auth.service import register_key
from signing.http_signature import sign_request
from signing.sm2 import Sm2PrivateKey
from tests.deposits.deposit_factories import CENTER, DEPOSIT, TENDEREE, World, bidder

_counter = itertools.count(1)


@dataclass(frozen=True)
class Center:
    world: World
    key: Sm2PrivateKey
    key_id: str

    def call(self, method: str, path: str, payload: Any) -> Response:
        raw = json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Authorization": sign_request(
                self.key, self.key_id, method, path, raw, timestamp=int(self.world.clock().timestamp())
            ),
            "Content-Type": "application/json",
            "Idempotency-Key": f"ic-{next(_counter)}",
        }
        response: Response = self.world.client.request(method, path, content=raw, headers=headers)
        return response

    def put_section(self, *, deadline_in: timedelta = timedelta(days=7), deposit_fen: int = DEPOSIT) -> str:
        code = f"IC-{next(_counter):04d}"
        deadline = (self.world.clock() + deadline_in).isoformat()
        response = self.call(
            "PUT",
            f"/center/v1/sections/{code}",
            {
                "project_code": "TP-INT",
                "project_name": "集成测试项目",
                "name": f"集成标段 {code}",
                "tenderee_name": "测试招标人有限公司",
                "tenderee_uscc": TENDEREE,
                "deposit_fen": deposit_fen,
                "bid_deadline_at": deadline,
                "bid_opening_at": deadline,
                "bid_validity_days": 90,
            },
        )
        assert response.status_code == 200, response.text
        return code

    def event(self, section: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.call("POST", f"/center/v1/sections/{section}/events", payload)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def check(self, section: str, bidders: list[int], *, lock: bool) -> list[dict[str, Any]]:
        named = [{"uscc": bidder(n)[0], "name": bidder(n)[1]} for n in bidders]
        response = self.call(
            "POST", f"/center/v1/sections/{section}/security-checks", {"bidders": named, "lock": lock}
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results


def center_of(world: World, code: str = CENTER) -> Center:
    key = Sm2PrivateKey.generate()
    key_id = f"{code.lower()}-int-{next(_counter)}"
    with world.container.sessions() as session, session.begin():
        register_key(
            session,
            party_kind="center",
            party_code=code,
            key_id=key_id,
            public_key_pem=key.public_key().to_pem().decode(),
            now=world.clock(),
            actor="admin:test",
        )
    return Center(world, key, key_id)
