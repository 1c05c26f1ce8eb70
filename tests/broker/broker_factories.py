"""Small typed factories for broker tests: a market (center, section, sandbox institutions), bidders,
headers, and the sandbox adapters' behaviour knobs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.banks.sandbox.core import SandboxInstitution
from adapters.payments.sandbox import SandboxPayments
from contracts.descriptors import SectionDescriptor
from contracts.uscc import make_uscc
from gateway.auth.tokens import Role, issue_token
from gateway.composition import Container
from gateway.demo.seed import sandbox_record
from gateway.institutions import repository as institutions
from gateway.sections import repository as sections

CENTER = "TEST-CENTER"
YUAN = 100
_counter = itertools.count(1)


@dataclass(frozen=True)
class Market:
    center: str
    section: str


def bidder_uscc(n: int) -> str:
    return str(make_uscc(f"91440300MA5T{n:05d}"))


def section_descriptor(
    code: str, *, deadline: datetime, deposit_fen: int = 800_000 * YUAN
) -> SectionDescriptor:
    return SectionDescriptor.model_validate(
        {
            "code": code,
            "project_code": "TP-1",
            "project_name": "测试项目",
            "name": f"测试标段 {code}",
            "center_code": CENTER,
            "tenderee_name": "测试招标人有限公司",
            "tenderee_uscc": str(make_uscc("12440300MB2TEMT01")),
            "deposit_fen": deposit_fen,
            "bid_deadline_at": deadline,
            "bid_opening_at": deadline,
            "bid_validity_days": 90,
        }
    )


def seed_market(
    container: Container,
    *,
    deadline_in: timedelta = timedelta(days=10),
    deposit_fen: int = 800_000 * YUAN,
    rate_cap_ppm: int | None = None,
    policy: str = "bidder_choice",
    render_letters: bool = True,
) -> Market:
    now = datetime.now(UTC)
    code = f"S-{next(_counter):04d}"
    with container.sessions() as session, session.begin():
        sections.upsert_center(
            session,
            code=CENTER,
            name="测试交易中心",
            now=now,
            rate_cap_ppm=rate_cap_ppm,
            allocation_policy=policy,
        )
        sections.upsert_section(
            session, section_descriptor(code, deadline=now + deadline_in, deposit_fen=deposit_fen), now=now
        )
        for party in container.sandbox_parties:
            institutions.upsert(session, sandbox_record(party, [CENTER]), now=now)
    for adapter in container.institutions.values():
        sandbox(adapter).behaviour.render_letter = render_letters
    return Market(CENTER, code)


def add_section(
    container: Container, *, deadline_in: timedelta = timedelta(days=10), status: str = "open"
) -> str:
    now = datetime.now(UTC)
    code = f"S-{next(_counter):04d}"
    with container.sessions() as session, session.begin():
        sections.upsert_section(
            session, section_descriptor(code, deadline=now + deadline_in), now=now, status=status
        )
    return code


def sandbox(adapter: object) -> SandboxInstitution:
    assert isinstance(adapter, SandboxInstitution)
    return adapter


def payments(container: Container) -> SandboxPayments:
    assert isinstance(container.payments, SandboxPayments)
    return container.payments


def token(container: Container, uscc: str) -> str:
    return issue_token(
        container.token_key,
        Role.BIDDER,
        uscc,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
        name=f"投标人{uscc[-4:]}",
    )


def headers(container: Container, uscc: str, key: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token(container, uscc)}",
        "Idempotency-Key": key or f"k-{next(_counter)}",
    }


def body(response: Any) -> dict[str, Any]:
    data = response.json()
    assert isinstance(data, dict)
    return data
