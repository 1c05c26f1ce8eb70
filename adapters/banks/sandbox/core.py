"""A configurable sandbox institution and its persisted sandbox PKI.

Behaviour is data (`SandboxBehaviour`) so tests can make an institution decline bidders, answer
slowly, hang, fail, or reject at review. Keys and certificates are kept in a directory (the gateway's
data dir) so that every process (`gateway serve`, `gateway demo`, the CLI) signs with the same keys
that the database's certificates name.
"""

from __future__ import annotations

import base64
import functools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from contracts.enums import DecisionMode, InstitutionKind
from contracts.institutions import (
    ApplicationSubmission,
    Claim,
    ClaimAck,
    Decision,
    DecisionOutcome,
    Extension,
    ExtensionResult,
    GuaranteeData,
    InstitutionUnavailable,
    IssuanceRefused,
    IssuedGuarantee,
    IssueRequest,
    Quote,
    QuoteRequest,
    StatusQuery,
    Surrender,
    SurrenderAck,
)
from signing.certificates import Sm2Certificate, create_root_ca, issue_certificate
from signing.letter import LetterSigner, issue_letter, letter_for
from signing.pades_certs import P256Identity, create_p256_ca, issue_p256_signing_identity
from signing.signed_data import sign_canonical
from signing.sm2 import Sm2PrivateKey

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUOTE_VALIDITY = timedelta(minutes=30)


@dataclass
class SandboxBehaviour:
    decline_usccs: set[str] = field(default_factory=set)
    reject_usccs: set[str] = field(default_factory=set)  # rejected at review / at issue
    latency_s: float = 0.0
    fail_quotes: bool = False
    fail_issue: bool = False
    refuse_issue: bool = False  # the institution refuses to issue after payment
    render_letter: bool = True
    discount_fen: int = 0
    refuse_extension: bool = False  # answers extension requests (延期) with a refusal
    fail_extension: bool = False  # extension requests fail as unreachable (the request stays open)


@dataclass(frozen=True, eq=False)
class SandboxIdentity:
    sm2_key: Sm2PrivateKey = field(repr=False)
    sm2_certificate: Sm2Certificate
    pades: P256Identity
    sm2_root: Sm2Certificate
    pades_root_pem: bytes

    @property
    def key_id(self) -> str:
        return f"sbx-{self.sm2_certificate.serial_hex[:16]}"

    @functools.cached_property
    def letter_signer(self) -> LetterSigner:
        # One signer object per identity: signing caches the prepared PAdES signer per LetterSigner.
        return LetterSigner(self.sm2_key, self.sm2_certificate, self.pades)


_PKI_LOCK = threading.Lock()


def load_or_create_identity(directory: Path, code: str, name: str) -> SandboxIdentity:
    """The institution's sandbox keys and certificates under ``directory`` (created once, 0600)."""
    with _PKI_LOCK:
        directory.mkdir(parents=True, exist_ok=True)
        root_key_path, root_path = directory / "sm2-root.key.pem", directory / "sm2-root.pem"
        pades_root_key, pades_root_cert = directory / "pades-root.key.pem", directory / "pades-root.pem"
        if not root_path.exists():
            root_key = Sm2PrivateKey.generate()
            root = create_root_ca(root_key, "电子保函网关沙箱SM2根CA", organization="电子保函网关沙箱")
            _write(root_key_path, root_key.to_pem())
            _write(root_path, root.to_pem())
            pades_root = create_p256_ca("电子保函网关沙箱文档签名CA", organization="电子保函网关沙箱")
            _write(pades_root_key, pades_root.key_pem())
            _write(pades_root_cert, pades_root.certificate_pem())
        root_key = Sm2PrivateKey.from_pem(root_key_path.read_bytes())
        root = Sm2Certificate.from_pem(root_path.read_bytes())
        pades_root = P256Identity.from_pem(pades_root_key.read_bytes(), pades_root_cert.read_bytes())
        key_path, cert_path = directory / f"{code}.sm2.key.pem", directory / f"{code}.sm2.pem"
        pades_key_path, pades_cert_path = directory / f"{code}.pades.key.pem", directory / f"{code}.pades.pem"
        if not cert_path.exists():
            key = Sm2PrivateKey.generate()
            certificate = issue_certificate(root_key, root, key.public_key(), name, organization=name)
            pades = issue_p256_signing_identity(pades_root, name, organization=name)
            _write(key_path, key.to_pem())
            _write(cert_path, certificate.to_pem())
            _write(pades_key_path, pades.key_pem())
            _write(pades_cert_path, pades.certificate_pem() + pades_root.certificate_pem())
        pades_pem = pades_cert_path.read_bytes()
        end, sep, chain = pades_pem.partition(b"-----END CERTIFICATE-----\n")
        return SandboxIdentity(
            sm2_key=Sm2PrivateKey.from_pem(key_path.read_bytes()),
            sm2_certificate=Sm2Certificate.from_pem(cert_path.read_bytes()),
            pades=P256Identity.from_pem(pades_key_path.read_bytes(), end + sep, chain),
            sm2_root=root,
            pades_root_pem=pades_root.certificate_pem(),
        )


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SandboxInstitution:
    """Implements every capability Protocol of `contracts.institutions.InstitutionAdapter`."""

    code: str
    name: str
    kind: InstitutionKind
    decision: DecisionMode
    identity: SandboxIdentity
    behaviour: SandboxBehaviour = field(default_factory=SandboxBehaviour)
    number_prefix: str = "GB"
    clock: Callable[[], datetime] = _utcnow

    def _wait(self) -> None:
        if self.behaviour.latency_s > 0:
            time.sleep(self.behaviour.latency_s)

    def quote(self, request: QuoteRequest) -> Quote:
        self._wait()
        if self.behaviour.fail_quotes:
            raise InstitutionUnavailable(f"{self.code}: sandbox failure")
        valid_until = self.clock() + QUOTE_VALIDITY
        if request.bidder_uscc in self.behaviour.decline_usccs:
            return Quote(
                application_id=request.application_id,
                institution_code=self.code,
                premium_fen=None,
                decision=self.decision,
                valid_until=valid_until,
                declined_reason="outside our risk appetite",
            )
        premium = max(request.schedule_premium_fen.fen - self.behaviour.discount_fen, 1)
        return Quote.model_validate(
            {
                "application_id": request.application_id,
                "institution_code": self.code,
                "premium_fen": premium,
                "decision": self.decision,
                "valid_until": valid_until,
            }
        )

    def submit(self, submission: ApplicationSubmission) -> Decision:
        self._wait()
        if submission.quote.bidder_uscc in self.behaviour.reject_usccs:
            outcome, reason = DecisionOutcome.REJECTED, "KYC: applicant not accepted"
        elif self.decision is DecisionMode.INSTANT:
            outcome, reason = DecisionOutcome.APPROVED, None
        else:
            outcome, reason = DecisionOutcome.PENDING, "under manual review"
        return Decision(
            application_id=submission.application_id,
            institution_code=self.code,
            outcome=outcome,
            reason=reason,
        )

    def status(self, query: StatusQuery) -> Decision:
        # The reviewing sandbox records its decisions through the gateway (partner API / CLI).
        return Decision(
            application_id=query.application_id, institution_code=self.code, outcome=DecisionOutcome.PENDING
        )

    def issue(self, request: IssueRequest) -> IssuedGuarantee:
        self._wait()
        if self.behaviour.fail_issue:
            raise InstitutionUnavailable(f"{self.code}: sandbox issuing failure")
        if self.behaviour.refuse_issue:
            raise IssuanceRefused(f"{self.code}: refuses to issue")
        now = self.clock()
        # Not guessable (domain.md): 48 random bits after the prefix and the issue date.
        number = f"{self.number_prefix}{now.astimezone(SHANGHAI):%Y%m%d}-{secrets.token_hex(6).upper()}"
        data = GuaranteeData.answering(
            request, guarantee_no=number, institution_code=self.code, issued_at=now
        )
        signature = sign_canonical(self.identity.sm2_key, data.signed_value())
        letter_b64 = None
        if self.behaviour.render_letter:
            letter = issue_letter(
                letter_for(request, data, self.name),
                self.identity.letter_signer,
            )
            letter_b64 = base64.b64encode(letter.pdf).decode("ascii")
        return IssuedGuarantee(
            data=data, key_id=self.identity.key_id, signature_b64=signature, letter_pdf_b64=letter_b64
        )

    def surrender(self, request: Surrender) -> SurrenderAck:
        self._wait()
        return SurrenderAck(guarantee_no=request.guarantee_no, accepted=True)

    def claim(self, request: Claim) -> ClaimAck:
        return ClaimAck(claim_id=request.claim_id, received_at=self.clock())

    def extend(self, request: Extension) -> ExtensionResult:
        self._wait()
        if self.behaviour.fail_extension:
            raise InstitutionUnavailable(f"{self.code}: sandbox extension failure")
        if self.behaviour.refuse_extension:
            return ExtensionResult(
                guarantee_no=request.guarantee_no, approved=False, reason="extension declined by the sandbox"
            )
        return ExtensionResult(
            guarantee_no=request.guarantee_no, approved=True, new_cover_end=request.new_cover_end
        )
