"""The composition root: the one place that turns settings into concrete parts (engine, clock, keys
and, as they arrive, the adapters for institutions, payments and the escrow bank). Everything else
receives what it needs from here; only this module may import `adapters`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from contracts.enums import DecisionMode, InstitutionKind
from contracts.institutions import InstitutionAdapter
from contracts.payments import PaymentProvider
from contracts.statements import Statement
from gateway.auth.middleware import GatewaySigner
from gateway.db import make_engine, make_sessionmaker, utcnow
from gateway.settings import Settings
from signing.sm2 import Sm2PrivateKey


@dataclass(frozen=True)
class SandboxParty:
    """A sandbox institution's public facts and demo keys (for seeding and credentials.json)."""

    code: str
    name: str
    kind: InstitutionKind
    decision: DecisionMode
    key_id: str
    certificate_pem: str
    private_key_pem: str = field(repr=False)
    trust_pem: str = ""  # the sandbox SM2 and PAdES roots (to verify letters offline)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    token_key: bytes
    signer: GatewaySigner
    clock: Callable[[], datetime] = field(default=utcnow)
    # Institution code -> adapter. Institutions themselves are data (gateway.institutions); this maps
    # the ones the gateway can reach to the code that reaches them.
    institutions: dict[str, InstitutionAdapter] = field(default_factory=dict)
    payments: PaymentProvider | None = None
    sandbox_parties: list[SandboxParty] = field(default_factory=list)
    quote_deadline_s: float = 3.0

    def close(self) -> None:
        self.engine.dispose()

    def payment_provider(self) -> PaymentProvider:
        assert self.payments is not None, "no payment provider configured"
        return self.payments


def _sandboxes(settings: Settings) -> tuple[dict[str, InstitutionAdapter], list[SandboxParty]]:
    from adapters.banks.sandbox import bank, guarantor, insurer

    pki_dir = settings.data_dir / "secrets" / "sandbox"
    adapters: dict[str, InstitutionAdapter] = {}
    parties: list[SandboxParty] = []
    for module in (bank, insurer, guarantor):
        institution = module.make(pki_dir)
        identity = institution.identity
        adapters[institution.code] = institution
        parties.append(
            SandboxParty(
                code=institution.code,
                name=institution.name,
                kind=institution.kind,
                decision=institution.decision,
                key_id=identity.key_id,
                certificate_pem=identity.sm2_certificate.to_pem().decode(),
                private_key_pem=identity.sm2_key.to_pem().decode(),
                trust_pem=(identity.sm2_root.to_pem() + identity.pades_root_pem).decode(),
            )
        )
    return adapters, parties


def build_container(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Container:
    from adapters.payments.sandbox import SandboxPayments

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    institutions, parties = _sandboxes(settings)
    return Container(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        token_key=settings.secret_token_key(),
        signer=GatewaySigner(
            settings.gateway_key_id, Sm2PrivateKey.from_pem(settings.gateway_signing_key_pem())
        ),
        clock=clock,
        institutions=institutions,
        payments=SandboxPayments(),
        sandbox_parties=parties,
    )


def statement_parsers() -> dict[str, Callable[[bytes], list[Statement]]]:
    """Bank statement parsers by format name (reconciliation imports through these)."""
    from adapters.statements import camt053, csv_cn, mt940

    return {"csv": csv_cn.parse, "camt053": camt053.parse, "mt940": mt940.parse}
