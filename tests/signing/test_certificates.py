"""SM2 certificates: issued here, validated by pyhanko-certvalidator with SM2, accepted by openssl."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from signing.certificates import (
    Sm2Certificate,
    TrustStore,
    create_root_ca,
    issue_certificate,
    load_pem_bundle,
    verify_certificate,
)
from signing.errors import MalformedCertificateError
from signing.pades_certs import create_p256_ca, issue_p256_signing_identity
from signing.sm2 import Sm2PrivateKey

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def root_key() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


@pytest.fixture(scope="module")
def root(root_key: Sm2PrivateKey) -> Sm2Certificate:
    return create_root_ca(root_key, "沙箱根CA", organization="电子保函网关沙箱", now=NOW)


@pytest.fixture(scope="module")
def institution_key() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


@pytest.fixture(scope="module")
def institution(
    root_key: Sm2PrivateKey, root: Sm2Certificate, institution_key: Sm2PrivateKey
) -> Sm2Certificate:
    return issue_certificate(
        root_key, root, institution_key.public_key(), "示例银行股份有限公司",
        organization="示例银行", uscc="91110000100000000A", now=NOW,
    )  # fmt: skip


def test_end_entity_chains_to_its_root(institution: Sm2Certificate, root: Sm2Certificate) -> None:
    verdict = verify_certificate(institution, TrustStore((root,)), at=NOW + dt.timedelta(days=1))
    assert verdict.ok, verdict.reason
    assert len(verdict.chain) == 2


def test_several_roots_at_once(institution: Sm2Certificate, root: Sm2Certificate) -> None:
    other = create_root_ca(Sm2PrivateKey.generate(), "另一家CA", now=NOW)
    assert verify_certificate(institution, TrustStore((other, root)), at=NOW).ok
    assert not verify_certificate(institution, TrustStore((other,)), at=NOW).ok


def test_no_roots_cannot_confirm(institution: Sm2Certificate) -> None:
    verdict = verify_certificate(institution, TrustStore(()), at=NOW)
    assert not verdict.ok
    assert "no trust roots" in verdict.reason


def test_validity_period_is_checked(institution: Sm2Certificate, root: Sm2Certificate) -> None:
    assert not verify_certificate(institution, TrustStore((root,)), at=NOW - dt.timedelta(days=1)).ok
    assert not verify_certificate(institution, TrustStore((root,)), at=NOW + dt.timedelta(days=900)).ok


def test_key_usage_is_checked(institution: Sm2Certificate, root: Sm2Certificate) -> None:
    verdict = verify_certificate(institution, TrustStore((root,)), at=NOW, key_usage=["key_cert_sign"])
    assert not verdict.ok


def test_certificate_from_an_impostor_with_the_same_root_name_fails(institution_key: Sm2PrivateKey) -> None:
    impostor_key = Sm2PrivateKey.generate()
    impostor_root = create_root_ca(impostor_key, "沙箱根CA", organization="电子保函网关沙箱", now=NOW)
    forged = issue_certificate(
        impostor_key, impostor_root, institution_key.public_key(), "示例银行股份有限公司", now=NOW
    )
    genuine_root = create_root_ca(
        Sm2PrivateKey.generate(), "沙箱根CA", organization="电子保函网关沙箱", now=NOW
    )
    assert not verify_certificate(forged, TrustStore((genuine_root,)), at=NOW).ok


def test_tampered_certificate_fails(institution: Sm2Certificate, root: Sm2Certificate) -> None:
    der = bytearray(institution.der)
    index = der.find("示例银行股份".encode())
    der[index + 2] ^= 0x01
    tampered = Sm2Certificate.from_der(bytes(der))
    assert not verify_certificate(tampered, TrustStore((root,)), at=NOW).ok


def test_openssl_verifies_the_chain(
    institution: Sm2Certificate, root: Sm2Certificate, tmp_path: Path
) -> None:
    (tmp_path / "root.pem").write_bytes(root.to_pem())
    (tmp_path / "ee.pem").write_bytes(institution.to_pem())
    # GM/T 0015 signs certificates with the default signer ID; OpenSSL 3.0 assumes an empty ID
    # unless told, hence -vfyopt.
    out = subprocess.run(
        ["openssl", "verify", "-vfyopt", "distid:1234567812345678", "-attime", str(int(NOW.timestamp()) + 60),
         "-CAfile", str(tmp_path / "root.pem"), str(tmp_path / "ee.pem")],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert out.strip().endswith(": OK")


def test_certificate_subject_key_and_pem_round_trip(
    institution: Sm2Certificate, institution_key: Sm2PrivateKey
) -> None:
    assert institution.sm2_public_key() == institution_key.public_key()
    assert Sm2Certificate.from_pem(institution.to_pem()) == institution
    assert institution.common_name == "示例银行股份有限公司"


def test_trust_store_from_a_bundle(institution: Sm2Certificate, root: Sm2Certificate) -> None:
    other = create_root_ca(Sm2PrivateKey.generate(), "另一家CA", now=NOW)
    store = TrustStore.from_pem(other.to_pem() + root.to_pem())
    assert len(store.roots) == 2
    assert verify_certificate(institution, store, at=NOW).ok


@pytest.mark.parametrize(
    "data", [b"", b"junk", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]
)
def test_malformed_certificates_are_typed_errors(data: bytes) -> None:
    with pytest.raises(MalformedCertificateError):
        load_pem_bundle(data)


def test_p256_identity_for_pades(tmp_path: Path) -> None:
    ca = create_p256_ca("沙箱文档签名CA")
    identity = issue_p256_signing_identity(ca, "示例银行股份有限公司", organization="示例银行")
    (tmp_path / "ca.pem").write_bytes(ca.certificate_pem())
    (tmp_path / "ee.pem").write_bytes(identity.certificate_pem())
    subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "ee.pem")], check=True
    )
