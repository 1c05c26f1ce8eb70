"""SM4-GCM authenticated encryption (GB/T 32907 block cipher, GCM per RFC 8998) via `cryptography`.

Used for sensitive fields and callback bodies. The sealed form is nonce(12) || ciphertext || tag(16),
so one opaque byte string travels; the nonce is random (96 bits) per message. Associated data binds
a ciphertext to its context (e.g. the guarantee number and field name) so it cannot be moved.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from signing.errors import DecryptionFailedError, SigningError

KEY_BYTES: Final = 16
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16


class BadSm4KeyError(SigningError):
    code = "bad_sm4_key"


def generate_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise BadSm4KeyError("an SM4 key is exactly 16 bytes")


def encrypt_with_nonce(key: bytes, nonce: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """ciphertext || tag for an explicit nonce (for test vectors; never reuse a nonce with a key)."""
    _check_key(key)
    if len(nonce) != NONCE_BYTES:
        raise BadSm4KeyError("an SM4-GCM nonce is exactly 12 bytes")
    encryptor = Cipher(algorithms.SM4(bytes(key)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(associated_data)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return body + encryptor.tag


def seal(key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """nonce || ciphertext || tag with a fresh random nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + encrypt_with_nonce(key, nonce, plaintext, associated_data)


def open_sealed(key: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    """Inverse of `seal`; raises DecryptionFailedError on any change to key, data, nonce or tag."""
    _check_key(key)
    if not isinstance(sealed, bytes | bytearray) or len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionFailedError("sealed SM4-GCM message too short")
    nonce = bytes(sealed[:NONCE_BYTES])
    body = bytes(sealed[NONCE_BYTES:-TAG_BYTES])
    tag = bytes(sealed[-TAG_BYTES:])
    decryptor = Cipher(algorithms.SM4(bytes(key)), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(associated_data)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag as exc:
        raise DecryptionFailedError("SM4-GCM authentication failed") from exc
