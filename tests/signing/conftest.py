"""Fixtures for the signing tests: every SM2 backend the conformance suite runs over.

`tongsuo` is the production backend, `openssl3` the second production backend (system libcrypto 3
through ctypes; required here, never skipped); `gmalg` (pure Python, dev dependency) is the
independent reference implementation, wrapped here to the same `Sm2Backend` protocol.
"""

from __future__ import annotations

from typing import Any

import pytest
from gmalg import sm2 as gmalg_sm2
from gmalg import sm3 as gmalg_sm3

from signing.backends import OpenSsl3Backend, Point, Sm2Backend, TongsuoBackend
from signing.sm2 import DEFAULT_SIGNER_ID, decode_der_signature, encode_der_signature


class GmalgBackend:
    """Reference backend over gmalg's SM2Core (secrets-based nonce, recommended curve)."""

    name = "gmalg"

    def __init__(self) -> None:
        self._core: Any = gmalg_sm2.SM2Core(gmalg_sm2._ecdlp, gmalg_sm3.SM3())

    def generate(self) -> int:
        private_value, _ = self._core.generate_keypair()
        return int(private_value)

    def public_point(self, private_value: int) -> Point:
        x, y = self._core.generate_pk(private_value)
        return int(x), int(y)

    def sign(self, private_value: int, message: bytes) -> bytes:
        point = self._core.generate_pk(private_value)
        r, s = self._core.sign(message, private_value, DEFAULT_SIGNER_ID, point)
        return encode_der_signature(int(r), int(s))

    def verify(self, public_point: Point, message: bytes, signature_der: bytes) -> bool:
        if not self._core.verify_pk(public_point):
            return False
        r, s = decode_der_signature(signature_der)
        return bool(self._core.verify(message, r, s, DEFAULT_SIGNER_ID, public_point))


ALL_BACKENDS: list[Sm2Backend] = [TongsuoBackend(), OpenSsl3Backend(), GmalgBackend()]


@pytest.fixture(params=ALL_BACKENDS, ids=lambda backend: backend.name)
def backend(request: pytest.FixtureRequest) -> Sm2Backend:
    chosen: Sm2Backend = request.param
    return chosen


@pytest.fixture
def all_backends() -> list[Sm2Backend]:
    return list(ALL_BACKENDS)
