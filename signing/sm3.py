"""SM3 (GB/T 32905) through `cryptography`, which wraps OpenSSL's implementation."""

from __future__ import annotations

from cryptography.hazmat.primitives import constant_time as _constant_time
from cryptography.hazmat.primitives import hashes, hmac


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (RFC 2104 with SM3; 32-byte tag)."""
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


def hmac_sm3_verify(key: bytes, data: bytes, tag: bytes) -> bool:
    """Constant-time comparison of an HMAC-SM3 tag."""
    return _constant_time.bytes_eq(hmac_sm3(key, data), tag)
