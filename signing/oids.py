"""Teach asn1crypto the Chinese commercial-cryptography OIDs (GM/T 0006), once, at import.

asn1crypto keeps OID <-> name maps as class attributes; the reverse map is built lazily, so both are
updated here. Importing this module is idempotent.
"""

from __future__ import annotations

from typing import Any, Final

from asn1crypto import algos, keys

SM2_CURVE_OID: Final = "1.2.156.10197.1.301"
SM2_WITH_SM3_OID: Final = "1.2.156.10197.1.501"
SM3_OID: Final = "1.2.156.10197.1.401"

SM2_CURVE_NAME: Final = "sm2p256v1"
SM2_WITH_SM3_NAME: Final = "sm2_sm3"
SM3_NAME: Final = "sm3"


def _register(oid_class: Any, oid: str, name: str) -> None:
    oid_class._map[oid] = name
    if oid_class._reverse_map is not None:
        oid_class._reverse_map[name] = oid


keys.NamedCurve.register(SM2_CURVE_NAME, SM2_CURVE_OID, 32)
_register(algos.SignedDigestAlgorithmId, SM2_WITH_SM3_OID, SM2_WITH_SM3_NAME)
_register(algos.DigestAlgorithmId, SM3_OID, SM3_NAME)
