"""SM2 X.509 certificates (SM2-with-SM3) and their path validation.

Built with asn1crypto (tongsuopy has no X.509 builder, `cryptography` has no SM2) and signed over the
TBS bytes with the SM2 backend; validated by pyhanko-certvalidator (RFC 5280 path building, validity,
basic constraints, key usage) through `Sm2SignatureValidator`, a pluggable signature validator that
adds SM2 and defers every other algorithm to the default one. A `TrustStore` holds several roots at
once (CA mutual recognition, CA互认). `openssl verify` accepts what is issued here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from asn1crypto import algos, keys, pem, x509
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    InvalidCertificateError,
    PathBuildingError,
    PathValidationError,
    ValidationError,
)
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from signing import oids
from signing.errors import MalformedCertificateError, SigningError
from signing.sm2 import Sm2PrivateKey, Sm2PublicKey, verify
from signing.sm3 import sm3

_CERT_KINDS: Final = ("CERTIFICATE",)
_MAX_CERT_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class Sm2Certificate:
    """One DER certificate with the few views callers need."""

    der: bytes
    asn1: Any = field(repr=False, compare=False)

    @classmethod
    def from_der(cls, der: bytes) -> Sm2Certificate:
        if not isinstance(der, bytes | bytearray) or len(der) > _MAX_CERT_BYTES:
            raise MalformedCertificateError("certificate must be at most 64 KiB of DER")
        try:
            parsed = x509.Certificate.load(bytes(der), strict=True)
            parsed.native  # noqa: B018 - forces asn1crypto's lazy parser over the whole structure
        except Exception as exc:  # asn1crypto raises many exception types on garbage
            raise MalformedCertificateError("malformed X.509 certificate") from exc
        return cls(bytes(der), parsed)

    @classmethod
    def from_pem(cls, data: bytes | str) -> Sm2Certificate:
        certificates = load_pem_bundle(data)
        if len(certificates) != 1:
            raise MalformedCertificateError(f"expected one certificate, found {len(certificates)}")
        return certificates[0]

    def to_pem(self) -> bytes:
        return bytes(pem.armor("CERTIFICATE", self.der))

    @property
    def subject(self) -> str:
        return str(self.asn1.subject.human_friendly)

    @property
    def common_name(self) -> str:
        return str(self.asn1.subject.native.get("common_name", ""))

    @property
    def serial_hex(self) -> str:
        return format(self.asn1.serial_number, "x")

    @property
    def not_before(self) -> dt.datetime:
        value: dt.datetime = self.asn1.not_valid_before
        return value

    @property
    def not_after(self) -> dt.datetime:
        value: dt.datetime = self.asn1.not_valid_after
        return value

    def sm2_public_key(self) -> Sm2PublicKey:
        """The subject's SM2 key; raises a SigningError for a certificate holding another key type."""
        return Sm2PublicKey.from_der(self.asn1.public_key.dump())


def load_pem_bundle(data: bytes | str) -> list[Sm2Certificate]:
    """Every CERTIFICATE block of a PEM bundle, in order."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    if len(raw) > 16 * _MAX_CERT_BYTES:
        raise MalformedCertificateError("certificate bundle too large")
    if not pem.detect(raw):
        raise MalformedCertificateError("no PEM certificate found")
    try:
        blocks = list(pem.unarmor(raw, multiple=True))
    except (ValueError, TypeError) as exc:
        raise MalformedCertificateError(f"unreadable PEM: {exc}") from exc
    certificates = [Sm2Certificate.from_der(der) for kind, _h, der in blocks if kind in _CERT_KINDS]
    if not certificates:
        raise MalformedCertificateError("no CERTIFICATE block in PEM")
    return certificates


# --- issuing ------------------------------------------------------------------------------------


def _name(common_name: str, organization: str | None, uscc: str | None) -> x509.Name:
    attributes: dict[str, str] = {"country_name": "CN"}
    if organization:
        attributes["organization_name"] = organization
    if uscc:
        # GB/T 20518 puts the unified social credit code in the organizational unit or serialNumber;
        # serialNumber keeps it machine-readable.
        attributes["serial_number"] = uscc
    attributes["common_name"] = common_name
    return x509.Name.build(attributes, use_printable=False)


def _key_identifier(public_key: Sm2PublicKey) -> bytes:
    return sm3(public_key.to_point_bytes())[:20]  # RFC 5280 4.2.1.2 allows any unique method


def _time(moment: dt.datetime) -> x509.Time:
    moment = moment.astimezone(dt.UTC).replace(microsecond=0)
    if 1950 <= moment.year < 2050:
        return x509.Time(name="utc_time", value=moment)
    return x509.Time(name="general_time", value=moment)


def _sm2_sm3() -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm({"algorithm": oids.SM2_WITH_SM3_NAME})


def _build(
    *,
    issuer_key: Sm2PrivateKey,
    issuer_name: x509.Name,
    issuer_public: Sm2PublicKey,
    subject_name: x509.Name,
    subject_public: Sm2PublicKey,
    is_ca: bool,
    key_usage: set[str],
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> Sm2Certificate:
    extensions = [
        {
            "extn_id": "basic_constraints",
            "critical": True,
            "extn_value": x509.BasicConstraints({"ca": is_ca}),
        },
        {"extn_id": "key_usage", "critical": True, "extn_value": x509.KeyUsage(key_usage)},
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_identifier(subject_public)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": x509.AuthorityKeyIdentifier({"key_identifier": _key_identifier(issuer_public)}),
        },
    ]
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": secrets.randbits(120) | (1 << 120),
            "signature": _sm2_sm3(),
            "issuer": issuer_name,
            "validity": x509.Validity({"not_before": _time(not_before), "not_after": _time(not_after)}),
            "subject": subject_name,
            "subject_public_key_info": keys.PublicKeyInfo.load(subject_public.to_der()),
            "extensions": extensions,
        }
    )
    signature = issuer_key.sign(tbs.dump())
    certificate = x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": _sm2_sm3(), "signature_value": signature}
    )
    return Sm2Certificate.from_der(certificate.dump())


def create_root_ca(
    key: Sm2PrivateKey,
    common_name: str,
    *,
    organization: str | None = None,
    valid_days: int = 3650,
    now: dt.datetime | None = None,
) -> Sm2Certificate:
    """A self-signed SM2 root (the demo's sandbox CA; real CAs are loaded into a TrustStore)."""
    start = now or dt.datetime.now(dt.UTC)
    name = _name(common_name, organization, None)
    return _build(
        issuer_key=key,
        issuer_name=name,
        issuer_public=key.public_key(),
        subject_name=name,
        subject_public=key.public_key(),
        is_ca=True,
        key_usage={"key_cert_sign", "crl_sign", "digital_signature"},
        not_before=start - dt.timedelta(minutes=5),
        not_after=start + dt.timedelta(days=valid_days),
    )


def issue_certificate(
    ca_key: Sm2PrivateKey,
    ca_certificate: Sm2Certificate,
    subject_public_key: Sm2PublicKey,
    common_name: str,
    *,
    organization: str | None = None,
    uscc: str | None = None,
    valid_days: int = 825,
    now: dt.datetime | None = None,
) -> Sm2Certificate:
    """An end-entity signing certificate for an institution, a center or the gateway."""
    start = now or dt.datetime.now(dt.UTC)
    return _build(
        issuer_key=ca_key,
        issuer_name=ca_certificate.asn1.subject,
        issuer_public=ca_certificate.sm2_public_key(),
        subject_name=_name(common_name, organization, uscc),
        subject_public=subject_public_key,
        is_ca=False,
        key_usage={"digital_signature", "non_repudiation"},
        not_before=start - dt.timedelta(minutes=5),
        not_after=min(start + dt.timedelta(days=valid_days), ca_certificate.not_after),
    )


# --- validating ---------------------------------------------------------------------------------


class Sm2SignatureValidator(DefaultSignatureValidator):
    """pyhanko-certvalidator's signature check, plus SM2-with-SM3 (signer ID 1234567812345678)."""

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if signature_algorithm["algorithm"].dotted != oids.SM2_WITH_SM3_OID:
            super().validate_signature(
                signature, signed_data, public_key_info, signature_algorithm, *args, **kwargs
            )
            return
        try:
            public_key = Sm2PublicKey.from_der(public_key_info.dump())
            valid = verify(public_key, signed_data, bytes(signature))
        except SigningError as exc:
            raise InvalidSignature(str(exc)) from exc
        if not valid:
            raise InvalidSignature("SM2 signature does not verify")


@dataclass(frozen=True)
class TrustStore:
    """The roots the gateway trusts; several at once (CA互认)."""

    roots: tuple[Sm2Certificate, ...]

    @classmethod
    def from_pem(cls, *bundles: bytes | str) -> TrustStore:
        return cls(tuple(cert for bundle in bundles for cert in load_pem_bundle(bundle)))

    def with_root(self, root: Sm2Certificate) -> TrustStore:
        return TrustStore((*self.roots, root))


@dataclass(frozen=True)
class CertificateVerdict:
    ok: bool
    reason: str
    chain: tuple[str, ...] = ()


async def async_verify_certificate(
    certificate: Sm2Certificate,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    intermediates: Sequence[Sm2Certificate] = (),
    key_usage: Iterable[str] = ("digital_signature",),
) -> CertificateVerdict:
    """Chain to one of the trusted roots, validity at `at` (default now), and key usage."""
    if not trust.roots:
        return CertificateVerdict(False, "no trust roots given")
    context = ValidationContext(
        trust_roots=[root.asn1 for root in trust.roots],
        moment=at or dt.datetime.now(dt.UTC),
        allow_fetching=False,
        revocation_mode="soft-fail",
        signature_validator=Sm2SignatureValidator(),
    )
    validator = CertificateValidator(
        certificate.asn1, [cert.asn1 for cert in intermediates], validation_context=context
    )
    try:
        path = await validator.async_validate_usage(set(key_usage))  # type: ignore[no-untyped-call]  # unannotated upstream
    except (PathBuildingError, PathValidationError, InvalidCertificateError, ValidationError) as exc:
        return CertificateVerdict(False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    chain = tuple(str(cert.subject.human_friendly) for cert in path)
    return CertificateVerdict(True, "chains to a trusted root, valid now, key usage allowed", chain)


def verify_certificate(
    certificate: Sm2Certificate,
    trust: TrustStore,
    *,
    at: dt.datetime | None = None,
    intermediates: Sequence[Sm2Certificate] = (),
    key_usage: Iterable[str] = ("digital_signature",),
) -> CertificateVerdict:
    """Synchronous `async_verify_certificate` for CLIs and seeding (not inside a running loop)."""
    return asyncio.run(
        async_verify_certificate(certificate, trust, at=at, intermediates=intermediates, key_usage=key_usage)
    )
