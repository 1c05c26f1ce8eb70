"""SM3 (GB/T 32905) through `cryptography`, which wraps OpenSSL's implementation."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()
