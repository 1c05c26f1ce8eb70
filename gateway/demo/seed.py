"""Demo data for `gateway serve --demo` and `gateway demo`: who can call the gateway, and how.

Seeds a trading center, open sections (bid deadlines in the future), the three sandbox institutions
(an instant-approval bank, an insurer that reviews, a guarantee company with domain.md's tiered fee
schedule) with their SM2 certificates, and writes `credentials.json` into the data directory (the one
deliberate place where secrets are shown: the demo must be drivable from outside with any HTTP
client). Seeding is idempotent: run it again and the same parties come back with fresh tokens.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.descriptors import SectionDescriptor
from contracts.enums import DecisionMode, IntegrationMode, Product
from contracts.uscc import make_uscc
from gateway.audit import service as audit
from gateway.auth.tokens import Role, issue_token
from gateway.broker.pricing import DOMAIN_TIERED, FlatRate, Tiered
from gateway.composition import Container, SandboxParty
from gateway.deposits import service as deposits
from gateway.institutions import repository as institutions
from gateway.institutions.repository import InstitutionRecord
from gateway.sections import repository as sections
from gateway.settings import read_or_create_secret
from gateway.system_auth.service import register_key
from signing.certificates import Sm2Certificate
from signing.sm2 import Sm2PrivateKey

DEMO_CENTER_CODE = "SZ-GGZY"
DEMO_CENTER_NAME = "深圳市公共资源交易中心"
# Fictitious bidders with well-formed USCCs (check characters computed, not real companies).
DEMO_BIDDERS = (
    ("91440300MA5DEMX01", "深圳市示范建设工程有限公司"),
    ("91440300MA5DEMX02", "广东演示路桥集团有限公司"),
    ("91440300MA5DEMX03", "南方样例市政工程有限公司"),
)
DEMO_TENDEREE = ("12440300MB2DEMT01", "深圳市示范城市建设投资集团有限公司")
TOKEN_TTL = timedelta(days=30)
YUAN = 100

# Each sandbox institution's commercial terms (data, not code): fee schedule, amount limits, the
# platform's share of the premium, and a track-record score used in ranking.
_BANK_FLAT = FlatRate(rate_ppm=2_000, minimum_fen=300 * YUAN)  # 2‰, at least ¥300
_INSURER_FLAT = FlatRate(rate_ppm=1_500, minimum_fen=500 * YUAN)  # 1.5‰, at least ¥500
SANDBOX_TERMS: dict[str, tuple[FlatRate | Tiered, int, int, int, int]] = {
    "SBX-BANK": (_BANK_FLAT, 1_000 * YUAN, 50_000_000 * YUAN, 100_000, 90),
    "SBX-INSURER": (_INSURER_FLAT, 10_000 * YUAN, 20_000_000 * YUAN, 100_000, 70),
    "SBX-GUARANTOR": (DOMAIN_TIERED, 1_000 * YUAN, 50_000_000 * YUAN, 100_000, 80),
}


def demo_bidders() -> list[tuple[str, str]]:
    return [(str(make_uscc(first17)), name) for first17, name in DEMO_BIDDERS]


def sandbox_record(party: SandboxParty, centers: Sequence[str]) -> InstitutionRecord:
    schedule, minimum, maximum, fee_ppm, record = SANDBOX_TERMS[party.code]
    return InstitutionRecord(
        code=party.code,
        name=party.name,
        kind=party.kind,
        products=(Product.BID,),
        fee_schedule=schedule,
        min_amount_fen=minimum,
        max_amount_fen=maximum,
        centers=tuple(centers),
        decision=party.decision,
        mode=IntegrationMode.SANDBOX,
        key_id=party.key_id,
        certificate_pem=party.certificate_pem,
        platform_fee_ppm=fee_ppm,
        record=record,
    )


def demo_sections(now: datetime) -> list[SectionDescriptor]:
    deadline = (now + timedelta(days=14)).replace(
        hour=1, minute=30, second=0, microsecond=0
    )  # 09:30 Shanghai
    specs = (
        ("SZ2026-0158-01", "施工总承包第一标段", 800_000 * YUAN),
        ("SZ2026-0158-02", "施工总承包第二标段", 3_000_000 * YUAN),
        ("SZ2026-0163-01", "监理服务标段", 50_000 * YUAN),
    )
    return [
        SectionDescriptor.model_validate(
            {
                "code": code,
                "project_code": code.rsplit("-", 1)[0],
                "project_name": "深圳市示范医院新院区建设工程",
                "name": name,
                "center_code": DEMO_CENTER_CODE,
                "tenderee_name": DEMO_TENDEREE[1],
                "tenderee_uscc": str(make_uscc(DEMO_TENDEREE[0])),
                "deposit_fen": deposit,
                "bid_deadline_at": deadline,
                "bid_opening_at": deadline,
                "bid_validity_days": 90,
            }
        )
        for code, name, deposit in specs
    ]


def seed_market(container: Container) -> list[SectionDescriptor]:
    """The center, its open sections and the sandbox institutions (idempotent)."""
    now = container.clock()
    descriptors = demo_sections(now)
    with container.sessions() as session, session.begin():
        sections.upsert_center(session, code=DEMO_CENTER_CODE, name=DEMO_CENTER_NAME, now=now)
        for descriptor in descriptors:
            sections.upsert_section(session, descriptor, now=now)
        for party in container.sandbox_parties:
            institutions.upsert(session, sandbox_record(party, [DEMO_CENTER_CODE]), now=now)
        # The center's escrow account at the demo escrow bank: bidders' cash deposits go here.
        deposits.register_escrow_account(
            session,
            center_code=DEMO_CENTER_CODE,
            bank_code=DEMO_ESCROW_BANK_CODE,
            bank_name="示范银行深圳分行",
            account_no="755900000000001",
            account_name=f"{DEMO_CENTER_NAME}投标保证金专户",
            subaccount_prefix="75590",
        )
    return descriptors


DEMO_ESCROW_BANK_CODE = "SZ-ESCROW"


def _demo_key(container: Container, name: str) -> Sm2PrivateKey:
    """A demo party's SM2 key, generated once into data_dir so that re-seeding keeps it."""
    path = container.settings.data_dir / "secrets" / "demo" / f"{name}.key.pem"
    return Sm2PrivateKey.from_pem(read_or_create_secret(path, lambda: Sm2PrivateKey.generate().to_pem()))


def seed_system_keys(container: Container) -> dict[str, tuple[str, Sm2PrivateKey]]:
    """Registers the center's, the escrow bank's and the institutions' request-signing keys.

    Returns the center's and the escrow bank's (key id, private key) for credentials.json."""
    now = container.clock()
    center_key, bank_key = _demo_key(container, "center"), _demo_key(container, "escrow_bank")
    parties = {
        "center": ("center", DEMO_CENTER_CODE, f"{DEMO_CENTER_CODE.lower()}-1", center_key.public_key()),
        "escrow_bank": (
            "bank",
            DEMO_ESCROW_BANK_CODE,
            f"{DEMO_ESCROW_BANK_CODE.lower()}-1",
            bank_key.public_key(),
        ),
    }
    with container.sessions() as session, session.begin():
        for kind, code, key_id, public in parties.values():
            register_key(
                session,
                party_kind=kind,
                party_code=code,
                key_id=key_id,
                public_key_pem=public.to_pem().decode(),
                now=now,
                actor="system:demo",
            )
        for party in container.sandbox_parties:
            public = Sm2Certificate.from_pem(party.certificate_pem).sm2_public_key()
            register_key(
                session,
                party_kind="institution",
                party_code=party.code,
                key_id=party.key_id,
                public_key_pem=public.to_pem().decode(),
                now=now,
                actor="system:demo",
            )
    return {
        "center": (parties["center"][2], center_key),
        "escrow_bank": (parties["escrow_bank"][2], bank_key),
    }


def seed_demo(container: Container) -> Path:
    now = container.clock()
    key = container.token_key
    descriptors = seed_market(container)
    system_keys = seed_system_keys(container)
    credentials: dict[str, Any] = {
        "base_url": container.settings.base_url,
        "bidders": [
            {
                "uscc": uscc,
                "name": name,
                "token": issue_token(key, Role.BIDDER, uscc, now=now, ttl=TOKEN_TTL, name=name),
            }
            for uscc, name in demo_bidders()
        ],
        "finance": {
            "center_code": DEMO_CENTER_CODE,
            "token": issue_token(key, Role.FINANCE, DEMO_CENTER_CODE, now=now, ttl=TOKEN_TTL),
        },
        "institutions": [
            {
                "code": party.code,
                "name": party.name,
                "kind": party.kind.value,
                "mode": IntegrationMode.SANDBOX.value,
                "decision": party.decision.value,
                "key_id": party.key_id,
                "private_key_pem": party.private_key_pem,
                "certificate_pem": party.certificate_pem,
            }
            for party in container.sandbox_parties
        ],
        "center": {
            "code": DEMO_CENTER_CODE,
            "key_id": system_keys["center"][0],
            "private_key_pem": system_keys["center"][1].to_pem().decode(),
        },
        "escrow_bank": {
            "code": DEMO_ESCROW_BANK_CODE,
            "key_id": system_keys["escrow_bank"][0],
            "private_key_pem": system_keys["escrow_bank"][1].to_pem().decode(),
        },
        "gateway_key_id": container.signer.key_id,
        "gateway_public_key_pem": container.signer.key.public_key().to_pem().decode(),
        "sections": [str(descriptor.code) for descriptor in descriptors],
        "sandbox_trust_pem": container.sandbox_parties[0].trust_pem if container.sandbox_parties else "",
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
            after={
                "bidders": len(credentials["bidders"]),
                "sections": len(descriptors),
                "institutions": len(container.sandbox_parties),
            },
        )
    return path


__all__ = ["DEMO_CENTER_CODE", "DecisionMode", "demo_bidders", "sandbox_record", "seed_demo", "seed_market"]
