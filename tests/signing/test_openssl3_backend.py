"""The OpenSSL 3 (ctypes) backend beyond the shared conformance suite: it and Tongsuo verify each
other's signatures on random keys and messages, malformed input never escapes libcrypto as anything
but False, the error queue is left empty, and a missing library is a typed error."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signing import openssl3
from signing.backends import OpenSsl3Backend, OpenSsl3UnavailableError, TongsuoBackend
from signing.errors import SigningError
from signing.sm2 import SM2_N, Sm2PrivateKey, encode_der_signature

TONGSUO = TongsuoBackend()
OPENSSL3 = OpenSsl3Backend()


def _error_queue_is_empty() -> bool:
    return int(openssl3._get_library().lib.ERR_peek_error()) == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=SM2_N - 2), st.binary(max_size=512))
def test_tongsuo_and_openssl3_verify_each_other(private_value: int, message: bytes) -> None:
    point = TONGSUO.public_point(private_value)
    assert OPENSSL3.public_point(private_value) == point
    by_tongsuo = TONGSUO.sign(private_value, message)
    by_openssl3 = OPENSSL3.sign(private_value, message)
    assert OPENSSL3.verify(point, message, by_tongsuo)
    assert TONGSUO.verify(point, message, by_openssl3)
    assert not OPENSSL3.verify(point, message + b"\x00", by_tongsuo)
    assert not TONGSUO.verify(point, message + b"\x00", by_openssl3)


KEY = Sm2PrivateKey(OPENSSL3.generate())
POINT = KEY.public_key().point
SIGNATURE = OPENSSL3.sign(KEY.d, b"fuzz")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=160))
def test_random_bytes_as_signature_are_false_and_leave_no_openssl_error(data: bytes) -> None:
    assert OPENSSL3.verify(POINT, b"fuzz", data) is (data == SIGNATURE)
    assert _error_queue_is_empty()


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_mutated_signature_given_straight_to_the_backend_is_false(index: int, value: int) -> None:
    position = index % len(SIGNATURE)
    mutated = SIGNATURE[:position] + bytes([value]) + SIGNATURE[position + 1 :]
    assert OPENSSL3.verify(POINT, b"fuzz", mutated) is (mutated == SIGNATURE)
    assert _error_queue_is_empty()


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        b"\x30\x00",
        b"\x30\x06\x02\x01\x01\x02\x01\x01",  # r = s = 1: well-formed, wrong
        encode_der_signature(1, 1)[:-1],  # truncated
        SIGNATURE + b"\x00",  # trailing byte after the SEQUENCE
        encode_der_signature(2**300, 5),  # r far beyond the order
        b"\x30\x81\x44" + SIGNATURE[2:],  # non-minimal length: OpenSSL must not accept BER
    ],
)
def test_malformed_signatures_are_false(signature: bytes) -> None:
    assert OPENSSL3.verify(POINT, b"fuzz", signature) is False
    assert _error_queue_is_empty()


@pytest.mark.parametrize(
    "point",
    [(POINT[0], POINT[1] + 1), (0, 0), (2**256 + 1, POINT[1]), (POINT[0], 2**300)],
    ids=["off-curve", "zero", "x-too-wide", "y-too-wide"],
)
def test_bad_public_points_are_false(point: tuple[int, int]) -> None:
    assert OPENSSL3.verify(point, b"fuzz", SIGNATURE) is False
    assert _error_queue_is_empty()


def test_loaded_library_is_openssl_3() -> None:
    assert int(openssl3._get_library().lib.OpenSSL_version_num()) >> 28 == 3


def test_no_usable_library_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def nowhere() -> Iterator[str]:
        yield "/nonexistent/libcrypto.so.3"
        yield "libc.so.6"  # loads, but has no OpenSSL symbols

    monkeypatch.setattr(openssl3, "_candidate_paths", nowhere)
    with pytest.raises(OpenSsl3UnavailableError) as caught:
        openssl3._load()
    assert isinstance(caught.value, SigningError)
    assert caught.value.code == "openssl3_unavailable"


def test_many_keys_churn_the_caches_and_threads_share_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """More keys than both caches hold, from four threads at once: evicted EVP_PKEYs are freed
    only when no call still uses them, so every result stays right."""
    keys = [Sm2PrivateKey(OPENSSL3.generate()) for _ in range(40)]
    failures: list[str] = []
    small = functools.lru_cache(maxsize=3)
    monkeypatch.setattr(openssl3, "_private_entry", small(openssl3._private_entry.__wrapped__))
    monkeypatch.setattr(openssl3, "_public_pkey", small(openssl3._public_pkey.__wrapped__))

    def work(offset: int) -> None:
        for round_ in range(3):
            for index in range(len(keys)):
                key = keys[(index + offset + round_) % len(keys)]
                message = f"{offset}-{round_}-{index}".encode()
                signature = OPENSSL3.sign(key.d, message)
                if not OPENSSL3.verify(key.public_key().point, message, signature):
                    failures.append(message.decode())
                if OPENSSL3.verify(key.public_key().point, message + b"!", signature):
                    failures.append("accepted " + message.decode())

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
