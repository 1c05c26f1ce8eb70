"""Signing structured data: SM2 over its one canonical JSON form (`signing.canonical`).

Every party reproduces the exact bytes from the same value (sorted keys, compact, UTF-8, integers
only), so a signature travels next to the data instead of wrapping it. Signatures are base64 DER.
"""

from __future__ import annotations

from typing import Any

from signing.canonical import canonical_json
from signing.sm2 import Sm2PrivateKey, Sm2PublicKey, b64decode_strict, b64encode, verify


def sign_canonical(private_key: Sm2PrivateKey, value: Any) -> str:
    """Base64 DER SM2 signature over canonical_json(value). Floats raise NotCanonicalisable."""
    return b64encode(private_key.sign(canonical_json(value)))


def verify_canonical(public_key: Sm2PublicKey, value: Any, signature_b64: str) -> bool:
    """True when the signature covers exactly this value. Bad base64 / DER raise typed errors."""
    return verify(public_key, canonical_json(value), b64decode_strict(signature_b64))
