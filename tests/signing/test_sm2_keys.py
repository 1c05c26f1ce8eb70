"""SM2 key encoding: PEM that openssl 3 reads and writes, DER <-> raw r||s, typed errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from signing.errors import (
    InvalidKeyError,
    MalformedPemError,
    MalformedSignatureError,
    WrongCurveError,
)
from signing.sm2 import (
    SM2_N,
    Sm2PrivateKey,
    Sm2PublicKey,
    decode_der_signature,
    der_to_raw,
    raw_to_der,
    verify,
)


def _openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], check=True, capture_output=True, text=True).stdout


def test_pem_round_trip() -> None:
    key = Sm2PrivateKey.generate()
    assert Sm2PrivateKey.from_pem(key.to_pem()) == key
    assert Sm2PublicKey.from_pem(key.public_key().to_pem()) == key.public_key()
    assert key.to_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert str(key.d) not in repr(key)


def test_openssl_reads_our_pem_and_derives_the_same_public_key(tmp_path: Path) -> None:
    key = Sm2PrivateKey.generate()
    (tmp_path / "k.pem").write_bytes(key.to_pem())
    _openssl("pkey", "-in", str(tmp_path / "k.pem"), "-check", "-noout")
    public_pem = _openssl("pkey", "-in", str(tmp_path / "k.pem"), "-pubout")
    assert public_pem.encode() == key.public_key().to_pem()


@pytest.mark.parametrize(
    "generate",
    [
        ["genpkey", "-algorithm", "SM2"],
        ["ecparam", "-name", "SM2", "-genkey"],  # SEC1 'EC PRIVATE KEY' after a parameters block
    ],
    ids=["pkcs8", "sec1"],
)
def test_loads_keys_openssl_generated(tmp_path: Path, generate: list[str]) -> None:
    _openssl(*generate, "-out", str(tmp_path / "k.pem"))
    key = Sm2PrivateKey.from_pem((tmp_path / "k.pem").read_bytes())
    public = Sm2PublicKey.from_pem(_openssl("pkey", "-in", str(tmp_path / "k.pem"), "-pubout"))
    assert key.public_key() == public
    assert verify(public, b"m", key.sign(b"m"))


def test_wrong_curve_is_refused(tmp_path: Path) -> None:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(tmp_path / "k")
    )
    with pytest.raises(WrongCurveError):
        Sm2PrivateKey.from_pem((tmp_path / "k").read_bytes())
    public = _openssl("pkey", "-in", str(tmp_path / "k"), "-pubout")
    with pytest.raises(WrongCurveError):
        Sm2PublicKey.from_pem(public)


def test_rsa_key_is_refused(tmp_path: Path) -> None:
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", str(tmp_path / "k"))
    with pytest.raises(WrongCurveError):
        Sm2PrivateKey.from_pem((tmp_path / "k").read_bytes())


def test_off_curve_public_key_in_pem_is_refused() -> None:
    public = Sm2PrivateKey.generate().public_key()
    der = bytearray(public.to_der())
    der[-1] ^= 1  # last byte of Y
    from asn1crypto import pem

    with pytest.raises(InvalidKeyError):
        Sm2PublicKey.from_pem(pem.armor("PUBLIC KEY", bytes(der)))
    with pytest.raises(InvalidKeyError):
        Sm2PublicKey(public.x, public.y + 1)


def test_private_scalar_out_of_range_is_refused() -> None:
    for bad in (0, SM2_N - 1, SM2_N, -1):
        with pytest.raises(InvalidKeyError):
            Sm2PrivateKey(bad)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a pem",
        "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nMIGHAgEA\n-----END CERTIFICATE-----\n",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIGHAgEA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    ],
)
def test_malformed_private_pem_is_a_typed_error(text: str) -> None:
    with pytest.raises(MalformedPemError):
        Sm2PrivateKey.from_pem(text)


def test_point_bytes_round_trip() -> None:
    public = Sm2PrivateKey.generate().public_key()
    assert Sm2PublicKey.from_point_bytes(public.to_point_bytes()) == public
    assert Sm2PublicKey.from_point_bytes(public.to_point_bytes()[1:]) == public


def test_der_raw_round_trip_and_verification() -> None:
    key = Sm2PrivateKey.generate()
    der = key.sign(b"bank spec")
    raw = der_to_raw(der)
    assert len(raw) == 64
    assert raw_to_der(raw) == der
    assert verify(key.public_key(), b"bank spec", raw_to_der(raw))


@pytest.mark.parametrize(
    "der_hex",
    [
        "",
        "30",
        "3006020101020101ff",  # trailing byte
        "3007020101020101",  # length too long
        "300702020001020101",  # non-minimal integer
        "3006020101040101",  # OCTET STRING instead of INTEGER
        "31060201010201 01".replace(" ", ""),
        "308106020101020101",  # non-minimal length
    ],
)
def test_malformed_der_signature_is_a_typed_error(der_hex: str) -> None:
    with pytest.raises(MalformedSignatureError):
        decode_der_signature(bytes.fromhex(der_hex))


def test_raw_signature_must_be_64_bytes() -> None:
    with pytest.raises(MalformedSignatureError):
        raw_to_der(b"\x01" * 63)
