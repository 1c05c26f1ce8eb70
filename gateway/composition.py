"""The composition root: the one place that turns settings into concrete parts (engine, clock, keys
and, as they arrive, the adapters for institutions, payments and the escrow bank). Everything else
receives what it needs from here; only this module may import `adapters`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from contracts.enums import DecisionMode, InstitutionKind
from contracts.escrow import EscrowBank
from contracts.institutions import InstitutionAdapter
from contracts.payments import PaymentProvider
from contracts.statements import Statement
from gateway.auth.middleware import GatewaySigner
from gateway.db import make_engine, make_sessionmaker, utcnow
from gateway.settings import Settings
from signing.sm2 import Sm2PrivateKey

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

log = logging.getLogger("gateway.composition")


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


@dataclass(frozen=True)
class PushSettings:
    """What `adapters.banks.http.PushConfig` takes (kept here so the gateway never imports adapters)."""

    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    max_attempts: int = 4
    backoff_base_s: float = 0.1
    backoff_cap_s: float = 2.0
    retry_after_cap_s: float = 5.0
    breaker_failures: int = 5
    breaker_cool_down_s: float = 30.0


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
    escrow_bank: EscrowBank | None = None
    sandbox_parties: list[SandboxParty] = field(default_factory=list)
    quote_deadline_s: float = 3.0
    # Push mode: timeouts, retries and breaker thresholds for every push institution's adapter.
    push_config: PushSettings = field(default_factory=PushSettings)

    def close(self) -> None:
        for adapter in self.institutions.values():
            close = getattr(adapter, "close", None)
            if callable(close):
                close()
        self.engine.dispose()

    def escrow(self) -> EscrowBank:
        assert self.escrow_bank is not None, "no escrow bank configured"
        return self.escrow_bank

    def payment_provider(self) -> PaymentProvider:
        assert self.payments is not None, "no payment provider configured"
        return self.payments


def container_of(connection: HTTPConnection) -> Container:
    """The container the app was built with (`create_app` puts it on the app's state)."""
    container: Container = connection.app.state.container
    return container


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


def wire_pull_institutions(container: Container) -> list[str]:
    """Adapters for the institutions registered with mode=pull (they call the partner API; the adapter
    leaves requests in the database for them). Called at start-up, and again after registering one.
    Returns the codes wired."""
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from gateway.institutions.tables import Institution
    from gateway.partner.pull_adapter import PullAdapter

    try:
        with container.sessions() as session:
            codes = list(session.scalars(select(Institution.code).where(Institution.mode == "pull")))
    except (OperationalError, ProgrammingError):  # schema not migrated yet (e.g. `gateway db upgrade`)
        return []
    for code in codes:
        if not isinstance(container.institutions.get(code), PullAdapter):
            container.institutions[code] = PullAdapter(
                code, container.sessions, container.clock, deadline_s=container.quote_deadline_s
            )
    return codes


def load_push_institutions(container: Container) -> list[str]:
    """(Re)build the adapters of the active push-mode institutions in the institutions table, in place
    in `container.institutions` (the broker holds that very mapping). An adapter whose URL,
    certificate and key are unchanged is kept, so its circuit breaker keeps its memory. Returns the
    push institution codes now wired."""
    from sqlalchemy import select

    from adapters.banks.http import HttpInstitution, PushConfig
    from gateway.institutions.tables import Institution
    from signing.certificates import Sm2Certificate

    with container.sessions() as session:
        rows = list(
            session.scalars(
                select(Institution).where(Institution.mode == "push", Institution.active.is_(True))
            )
        )
    wired: list[str] = []
    config = PushConfig(**vars(container.push_config))
    for row in rows:
        if not row.push_base_url:
            log.warning("push institution without push_base_url; skipped", extra={"institution": row.code})
            continue
        existing = container.institutions.get(row.code)
        fingerprint = f"{row.push_base_url}\n{row.certificate_pem}"
        if isinstance(existing, HttpInstitution) and existing.wiring_id == fingerprint:
            wired.append(row.code)
            continue
        try:
            institution_key = Sm2Certificate.from_pem(row.certificate_pem.encode()).sm2_public_key()
        except Exception as exc:  # noqa: BLE001 - one institution's bad row must not stop the gateway
            log.warning(
                "push institution certificate unreadable; skipped",
                extra={"institution": row.code, "error": str(exc)},
            )
            continue
        adapter = HttpInstitution(
            code=row.code,
            base_url=row.push_base_url,
            gateway_key_id=container.signer.key_id,
            gateway_key=container.signer.key,
            institution_key=institution_key,
            config=config,
            wiring_id=fingerprint,
        )
        if isinstance(existing, HttpInstitution):
            existing.close()
        container.institutions[row.code] = adapter
        wired.append(row.code)
    for code in [c for c, a in container.institutions.items() if isinstance(a, HttpInstitution)]:
        if code not in wired:
            removed = container.institutions.pop(code)
            assert isinstance(removed, HttpInstitution)
            removed.close()
    return wired


def build_partner_sandbox(
    *,
    state_dir: Path,
    gateway_public_key_pem: bytes,
    code: str,
    name: str,
    review: bool,
    review_delay_s: float,
    gateway_url: str | None,
    render_letter: bool,
    refuse_issue: bool,
    faults: Sequence[str],
) -> Any:
    """The reference partner server's ASGI app (`gateway partner-sandbox serve`). Raises ValueError on
    a bad fault spec or key."""
    from adapters.partner_sandbox.faults import parse_faults
    from adapters.partner_sandbox.server import PartnerConfig, create_partner_app
    from signing.sm2 import Sm2PublicKey

    state_dir.mkdir(parents=True, exist_ok=True)
    config = PartnerConfig(
        state_dir=state_dir,
        gateway_public_key=Sm2PublicKey.from_pem(gateway_public_key_pem),
        code=code,
        name=name,
        decision=DecisionMode.REVIEW if review else DecisionMode.INSTANT,
        review_delay_s=review_delay_s,
        gateway_url=gateway_url,
        render_letter=render_letter,
        refuse_issue=refuse_issue,
        faults=parse_faults(list(faults)),
    )
    return create_partner_app(config)


def build_container(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Container:
    from adapters.escrow.sandbox import SandboxEscrowBank
    from adapters.payments.sandbox import SandboxPayments

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    institutions, parties = _sandboxes(settings)
    container = Container(
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
        escrow_bank=SandboxEscrowBank(),
        sandbox_parties=parties,
    )
    wire_pull_institutions(container)
    try:
        load_push_institutions(container)
    except SQLAlchemyError:  # not migrated yet (`db upgrade` comes later): no push institutions to wire
        log.info("institutions table not readable; push institutions not wired")
    return container


def statement_parsers() -> dict[str, Callable[[bytes], list[Statement]]]:
    """Bank statement parsers by format name (reconciliation imports through these)."""
    from adapters.statements import camt053, csv_cn, mt940

    return {"csv": csv_cn.parse, "camt053": camt053.parse, "mt940": mt940.parse}
