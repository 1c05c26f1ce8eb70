"""The one seam behind which an SM2 implementation sits.

A backend signs and verifies with signer ID 1234567812345678 (GM/T 0009) on the SM2 recommended
curve, and deals in plain integers and DER so that key encoding, DER strictness and range checks live
once, above it, in `signing.sm2`. `TongsuoBackend` is the production backend; `OpenSsl3Backend`
(`signing.openssl3`: the system libcrypto 3 through ctypes) is a second one; tests run the same
conformance suite over both and over a pure-Python reference (gmalg).
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from tongsuopy.crypto import exceptions as tongsuo_exceptions
from tongsuopy.crypto import hashes as tongsuo_hashes
from tongsuopy.crypto.asymciphers import ec as tongsuo_ec

from signing.openssl3 import OpenSsl3Backend, OpenSsl3UnavailableError

__all__ = ["OpenSsl3Backend", "OpenSsl3UnavailableError", "Point", "Sm2Backend", "TongsuoBackend"]

Point = tuple[int, int]


class Sm2Backend(Protocol):
    """SM2 with SM3 and the default signer ID. Inputs are already range-checked by the caller."""

    @property
    def name(self) -> str: ...

    def generate(self) -> int:
        """A fresh private scalar d in [1, n-2] from a CSPRNG."""
        ...

    def public_point(self, private_value: int) -> Point: ...

    def sign(self, private_value: int, message: bytes) -> bytes:
        """DER-encoded SM2 signature of `message` (SM3 with Z_A prepended, done inside)."""
        ...

    def verify(self, public_point: Point, message: bytes, signature_der: bytes) -> bool: ...


_SM2_SM3: Any = tongsuo_ec.ECDSA(tongsuo_hashes.SM3())  # tongsuopy routes SM2 keys to SM2 signing


@functools.lru_cache(maxsize=256)
def _tongsuo_private(private_value: int) -> Any:
    return tongsuo_ec.derive_private_key(private_value, tongsuo_ec.SM2())


@functools.lru_cache(maxsize=1024)
def _tongsuo_public(point: Point) -> Any:
    return tongsuo_ec.EllipticCurvePublicNumbers(point[0], point[1], tongsuo_ec.SM2()).public_key()


class TongsuoBackend:
    """tongsuopy (Tongsuo, an OpenSSL 1.1.1 fork with SM2): used for signatures only.

    Key objects are cached (bounded LRU) because building an EVP_PKEY costs about as much as a
    verification; signer ID is Tongsuo's default 1234567812345678.
    """

    name = "tongsuo"

    def generate(self) -> int:
        key: Any = tongsuo_ec.generate_private_key(tongsuo_ec.SM2())
        return int(key.private_numbers().private_value)

    def public_point(self, private_value: int) -> Point:
        numbers = _tongsuo_private(private_value).public_key().public_numbers()
        return int(numbers.x), int(numbers.y)

    def sign(self, private_value: int, message: bytes) -> bytes:
        return bytes(_tongsuo_private(private_value).sign(message, _SM2_SM3))

    def verify(self, public_point: Point, message: bytes, signature_der: bytes) -> bool:
        try:
            key = _tongsuo_public(public_point)
        except ValueError:  # not a point on the curve
            return False
        try:
            key.verify(signature_der, message, _SM2_SM3)
        except tongsuo_exceptions.InvalidSignature:
            return False
        except tongsuo_exceptions.InternalError:
            # Tongsuo reports some malformed signatures as errors rather than a failed check.
            return False
        return True
