"""ECDSA P-256 certificates for the letter's PAdES signature (built with `cryptography`).

The PDF signature is P-256 because no common PDF tool (pdfsig, Acrobat) validates SM2 CMS yet; the
SM2 signature travels inside the PDF as well (see signing/letter/). In the demo a sandbox P-256 CA
issues one signing certificate per institution and one for the platform.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing.errors import MalformedCertificateError, MalformedPemError


@dataclass(frozen=True)
class P256Identity:
    """A P-256 private key with its certificate (and the chain above it, root last)."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def from_pem(cls, key_pem: bytes, certificate_pem: bytes, chain_pem: bytes = b"") -> P256Identity:
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise MalformedPemError("unreadable P-256 private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise MalformedPemError("PAdES key must be ECDSA P-256")
        try:
            certificate = x509.load_pem_x509_certificate(certificate_pem)
            chain = tuple(x509.load_pem_x509_certificates(chain_pem)) if chain_pem.strip() else ()
        except ValueError as exc:
            raise MalformedCertificateError("unreadable certificate PEM") from exc
        return cls(key, certificate, chain)


def _name(common_name: str, organization: str | None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def create_p256_ca(
    common_name: str,
    *,
    organization: str | None = None,
    valid_days: int = 3650,
    now: dt.datetime | None = None,
) -> P256Identity:
    start = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name, organization)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return P256Identity(key, certificate, ())


def issue_p256_signing_identity(
    ca: P256Identity,
    common_name: str,
    *,
    organization: str | None = None,
    valid_days: int = 825,
    now: dt.datetime | None = None,
) -> P256Identity:
    """A document-signing certificate (digitalSignature + nonRepudiation) for PAdES."""
    start = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(min(start + dt.timedelta(days=valid_days), ca.certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return P256Identity(key, certificate, (ca.certificate, *ca.chain))
