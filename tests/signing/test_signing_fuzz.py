"""Hypothesis fuzzing of every decoder: only typed `SigningError`s may come out, never a crash."""

from __future__ import annotations

import base64
import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from signing.errors import SigningError
from signing.sm2 import (
    Sm2PrivateKey,
    Sm2PublicKey,
    b64decode_strict,
    decode_der_signature,
    der_to_raw,
    encode_der_signature,
    raw_to_der,
    verify,
)

KEY = Sm2PrivateKey.generate()
PUBLIC = KEY.public_key()
VALID_SIGNATURE = KEY.sign(b"fuzz")
PRIVATE_PEM = KEY.to_pem()
PUBLIC_PEM = PUBLIC.to_pem()


def _mutate(data: bytes, index: int, value: int) -> bytes:
    if not data:
        return bytes([value])
    position = index % len(data)
    return data[:position] + bytes([value]) + data[position + 1 :]


def _reject_only_typed(call: object, *args: object) -> None:
    with contextlib.suppress(SigningError):
        call(*args)  # type: ignore[operator]


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_der_signature_decoder_on_random_bytes(data: bytes) -> None:
    try:
        r, s = decode_der_signature(data)
    except SigningError:
        return
    assert encode_der_signature(r, s) == data or r < 0 or s < 0  # strict DER: one encoding only
    _reject_only_typed(verify, PUBLIC, b"fuzz", data)


@settings(max_examples=300)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_mutated_valid_signature_never_crashes_and_never_verifies(index: int, value: int) -> None:
    mutated = _mutate(VALID_SIGNATURE, index, value)
    try:
        valid = verify(PUBLIC, b"fuzz", mutated)
    except SigningError:
        return
    assert valid == (mutated == VALID_SIGNATURE)


@settings(max_examples=200)
@given(st.binary(min_size=0, max_size=80))
def test_raw_signature_decoder(data: bytes) -> None:
    try:
        der = raw_to_der(data)
    except SigningError:
        assert len(data) != 64
        return
    assert der_to_raw(der) == data


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=100), st.binary(max_size=100)))
def test_base64_decoder(text: str | bytes) -> None:
    try:
        decoded = b64decode_strict(text)
    except SigningError:
        return
    assert base64.b64encode(decoded).decode() == (
        text.strip() if isinstance(text, str) else text.strip().decode()
    )


@settings(max_examples=300)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255), st.booleans())
def test_mutated_pem_files(index: int, value: int, private: bool) -> None:
    source = PRIVATE_PEM if private else PUBLIC_PEM
    mutated = _mutate(source, index, value)
    loader = Sm2PrivateKey.from_pem if private else Sm2PublicKey.from_pem
    _reject_only_typed(loader, mutated)


@settings(max_examples=300)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255), st.booleans())
def test_mutated_der_inside_valid_armor(index: int, value: int, private: bool) -> None:
    from asn1crypto import pem

    der = KEY.to_der() if private else PUBLIC.to_der()
    kind = "PRIVATE KEY" if private else "PUBLIC KEY"
    mutated = pem.armor(kind, _mutate(der, index, value))
    loader = Sm2PrivateKey.from_pem if private else Sm2PublicKey.from_pem
    _reject_only_typed(loader, mutated)


@settings(max_examples=200)
@given(st.binary(max_size=300), st.sampled_from(["PRIVATE KEY", "PUBLIC KEY", "EC PRIVATE KEY"]))
def test_random_der_inside_valid_armor(der: bytes, kind: str) -> None:
    from asn1crypto import pem

    armored = pem.armor(kind, der)
    _reject_only_typed(Sm2PrivateKey.from_pem, armored)
    _reject_only_typed(Sm2PublicKey.from_pem, armored)


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_random_text_as_pem(text: str) -> None:
    _reject_only_typed(Sm2PrivateKey.from_pem, text)
    _reject_only_typed(Sm2PublicKey.from_pem, text)
