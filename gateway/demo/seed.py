"""Demo data for `gateway serve --demo` and `gateway demo`: who can call the gateway, and how.

Writes `credentials.json` into the data directory (the one deliberate place where secrets are shown:
the demo must be drivable from outside with any HTTP client). Seeding is idempotent: run it again and
the same parties come back with fresh tokens. Later work adds the center, sections, institutions and
the escrow bank to this file.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from contracts.uscc import make_uscc
from gateway.audit import service as audit
from gateway.auth.tokens import Role, issue_token
from gateway.composition import Container

DEMO_CENTER_CODE = "SZ-GGZY"
# Fictitious bidders with well-formed USCCs (check characters computed, not real companies).
DEMO_BIDDERS = (
    ("91440300MA5DEMX01", "深圳市示范建设工程有限公司"),
    ("91440300MA5DEMX02", "广东演示路桥集团有限公司"),
    ("91440300MA5DEMX03", "南方样例市政工程有限公司"),
)
TOKEN_TTL = timedelta(days=30)


def demo_bidders() -> list[tuple[str, str]]:
    return [(str(make_uscc(first17)), name) for first17, name in DEMO_BIDDERS]


def seed_demo(container: Container) -> Path:
    now = container.clock()
    key = container.token_key
    credentials: dict[str, Any] = {
        "base_url": container.settings.base_url,
        "bidders": [
            {"uscc": uscc, "name": name, "token": issue_token(key, Role.BIDDER, uscc, now=now, ttl=TOKEN_TTL)}
            for uscc, name in demo_bidders()
        ],
        "finance": {
            "center_code": DEMO_CENTER_CODE,
            "token": issue_token(key, Role.FINANCE, DEMO_CENTER_CODE, now=now, ttl=TOKEN_TTL),
        },
    }
    path = container.settings.data_dir / "credentials.json"
    path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    with container.sessions() as session, session.begin():
        audit.append(
            session,
            actor="system:demo",
            action="demo.seeded",
            object_type="demo",
            object_id=DEMO_CENTER_CODE,
            after={"bidders": len(credentials["bidders"])},
        )
    return path
