"""SM2 keys and signatures (GB/T 32918, signer ID 1234567812345678 per GM/T 0009).

Keys are plain values: `Sm2PrivateKey(d)` and `Sm2PublicKey(x, y)`. PEM is PKCS#8 (private) and
SubjectPublicKeyInfo (public) with id-ecPublicKey + the SM2 curve OID, exactly what OpenSSL 3 writes
and reads; SEC1 "EC PRIVATE KEY" files from `openssl ecparam -genkey` load too. Encoding, DER
strictness and range checks are done here, once, so every backend sees only well-formed input.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass, field
from typing import Any, Final

from asn1crypto import keys, pem

from signing import oids
from signing.backends import Point, Sm2Backend, TongsuoBackend
from signing.errors import (
    BadBase64Error,
    InvalidKeyError,
    MalformedPemError,
    MalformedSignatureError,
    WrongCurveError,
)

# Recommended curve parameters (GB/T 32918.5).
SM2_P: Final = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF
SM2_A: Final = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFC
SM2_B: Final = 0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93
SM2_N: Final = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123
SM2_GX: Final = 0x32C4AE2C_1F198119_5F990446_6A39C994_8FE30BBF_F2660BE1_715A4589_334C74C7
SM2_GY: Final = 0xBC3736A2_F4F6779C_59BDCEE3_6B692153_D0A9877C_C62A4740_02DF32E5_2139F0A0
DEFAULT_SIGNER_ID: Final = b"1234567812345678"

DEFAULT_BACKEND: Final[Sm2Backend] = TongsuoBackend()

_MAX_PEM_BYTES: Final = 64 * 1024
_MAX_SIGNATURE_BYTES: Final = 256


def is_on_curve(x: int, y: int) -> bool:
    """The affine point lies on the SM2 curve (the cofactor is 1, so this is full validation)."""
    if not (0 <= x < SM2_P and 0 <= y < SM2_P):
        return False
    return (y * y - (x * x * x + SM2_A * x + SM2_B)) % SM2_P == 0


@dataclass(frozen=True)
class Sm2PublicKey:
    x: int
    y: int

    def __post_init__(self) -> None:
        if not is_on_curve(self.x, self.y):
            raise InvalidKeyError("public key point is not on the SM2 curve")

    @property
    def point(self) -> Point:
        return (self.x, self.y)

    def to_point_bytes(self) -> bytes:
        """Uncompressed SEC1 point 04||X||Y (65 bytes)."""
        return b"\x04" + self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    @classmethod
    def from_point_bytes(cls, data: bytes) -> Sm2PublicKey:
        """04||X||Y (65 bytes) or bare X||Y (64 bytes, as some bank specs publish keys)."""
        if len(data) == 65 and data[0] == 4:
            data = data[1:]
        if len(data) != 64:
            raise InvalidKeyError("an SM2 public point is 04||X||Y (65 bytes) or X||Y (64 bytes)")
        return cls(int.from_bytes(data[:32], "big"), int.from_bytes(data[32:], "big"))

    def to_der(self) -> bytes:
        return bytes(_public_key_info(self).dump())

    def to_pem(self) -> bytes:
        return bytes(pem.armor("PUBLIC KEY", self.to_der()))

    @classmethod
    def from_der(cls, der: bytes) -> Sm2PublicKey:
        return _public_from_spki_der(der)

    @classmethod
    def from_pem(cls, data: bytes | str) -> Sm2PublicKey:
        kind, der = _unarmor_first(data, ("PUBLIC KEY",))
        del kind
        return _public_from_spki_der(der)

    def verify(self, message: bytes, signature_der: bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> bool:
        return verify(self, message, signature_der, backend)


@dataclass(frozen=True)
class Sm2PrivateKey:
    d: int = field(repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.d <= SM2_N - 2:
            raise InvalidKeyError("SM2 private scalar must lie in [1, n-2]")

    @classmethod
    def generate(cls, backend: Sm2Backend = DEFAULT_BACKEND) -> Sm2PrivateKey:
        return cls(backend.generate())

    @functools.cached_property
    def _public(self) -> Sm2PublicKey:
        x, y = DEFAULT_BACKEND.public_point(self.d)
        return Sm2PublicKey(x, y)

    def public_key(self) -> Sm2PublicKey:
        return self._public

    def sign(self, message: bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> bytes:
        """DER-encoded signature; two calls on one message differ (random k)."""
        return backend.sign(self.d, message)

    def to_der(self) -> bytes:
        """PKCS#8 PrivateKeyInfo."""
        ec_private = keys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": self.d,
                "public_key": self.public_key().to_point_bytes(),
            }
        )
        ec_private.set_key_size(32)
        info = keys.PrivateKeyInfo(
            {
                "version": 0,
                "private_key_algorithm": keys.PrivateKeyAlgorithm(
                    {"algorithm": "ec", "parameters": _named_sm2()}
                ),
                "private_key": ec_private,
            }
        )
        return bytes(info.dump())

    def to_pem(self) -> bytes:
        return bytes(pem.armor("PRIVATE KEY", self.to_der()))

    @classmethod
    def from_pem(cls, data: bytes | str) -> Sm2PrivateKey:
        kind, der = _unarmor_first(data, ("PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"))
        if kind == "ENCRYPTED PRIVATE KEY":
            raise MalformedPemError("encrypted private keys are not supported; export without a passphrase")
        if kind == "EC PRIVATE KEY":
            return _private_from_sec1_der(der, outer_parameters=None)
        return _private_from_pkcs8_der(der)

    @classmethod
    def from_der(cls, der: bytes) -> Sm2PrivateKey:
        return _private_from_pkcs8_der(der)


def verify(
    public_key: Sm2PublicKey, message: bytes, signature_der: bytes, backend: Sm2Backend = DEFAULT_BACKEND
) -> bool:
    """True when `signature_der` is a valid SM2 signature of `message` by `public_key`.

    Raises MalformedSignatureError when the bytes are not one strict-DER SEQUENCE of two INTEGERs;
    a well-formed signature with r or s outside [1, n-1] is simply invalid (False).
    """
    r, s = decode_der_signature(signature_der)
    if not (1 <= r < SM2_N and 1 <= s < SM2_N):
        return False
    return backend.verify(public_key.point, message, signature_der)


# --- signatures: strict DER and raw r||s --------------------------------------------------------


def _der_length(data: bytes, offset: int) -> tuple[int, int]:
    if offset >= len(data):
        raise MalformedSignatureError("truncated DER signature")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > 2 or offset + 1 + count > len(data):
        raise MalformedSignatureError("bad DER length in signature")
    value = int.from_bytes(data[offset + 1 : offset + 1 + count], "big")
    if value < 0x80 or (count == 2 and value < 0x100):
        raise MalformedSignatureError("non-minimal DER length in signature")
    return value, offset + 1 + count


def _der_integer(data: bytes, offset: int) -> tuple[int, int]:
    if offset >= len(data) or data[offset] != 0x02:
        raise MalformedSignatureError("DER signature: expected INTEGER")
    length, start = _der_length(data, offset + 1)
    end = start + length
    if length == 0 or end > len(data):
        raise MalformedSignatureError("truncated DER signature")
    body = data[start:end]
    if len(body) > 1 and ((body[0] == 0x00 and body[1] < 0x80) or (body[0] == 0xFF and body[1] >= 0x80)):
        raise MalformedSignatureError("non-minimal INTEGER in DER signature")
    return int.from_bytes(body, "big", signed=True), end


def decode_der_signature(signature_der: bytes) -> tuple[int, int]:
    """(r, s) from a strict-DER ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER })."""
    if not isinstance(signature_der, bytes | bytearray):
        raise MalformedSignatureError("signature must be bytes")
    data = bytes(signature_der)
    if len(data) > _MAX_SIGNATURE_BYTES:
        raise MalformedSignatureError("DER signature too long")
    if not data or data[0] != 0x30:
        raise MalformedSignatureError("DER signature must start with a SEQUENCE")
    length, start = _der_length(data, 1)
    if start + length != len(data):
        raise MalformedSignatureError("DER signature length does not match its content")
    r, offset = _der_integer(data, start)
    s, offset = _der_integer(data, offset)
    if offset != len(data):
        raise MalformedSignatureError("trailing bytes inside DER signature")
    return r, s


def _der_encode_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return b"\x02" + bytes([len(body)]) + body


def encode_der_signature(r: int, s: int) -> bytes:
    if not (0 <= r < 2**512 and 0 <= s < 2**512):
        raise MalformedSignatureError("r and s must be non-negative and at most 512 bits")
    content = _der_encode_integer(r) + _der_encode_integer(s)
    return b"\x30" + bytes([len(content)]) + content


def der_to_raw(signature_der: bytes) -> bytes:
    """DER -> r||s, each 32 bytes big-endian (the form many bank specs use)."""
    r, s = decode_der_signature(signature_der)
    if not (0 <= r < 2**256 and 0 <= s < 2**256):
        raise MalformedSignatureError("r or s does not fit in 32 bytes")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def raw_to_der(raw: bytes) -> bytes:
    """r||s (64 bytes) -> DER."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != 64:
        raise MalformedSignatureError("a raw SM2 signature is exactly 64 bytes (r||s)")
    return encode_der_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def b64decode_strict(text: str | bytes) -> bytes:
    """Standard base64 with padding; whitespace around it is ignored, anything else is refused."""
    try:
        cleaned = text.strip() if isinstance(text, bytes) else text.strip().encode("ascii")
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise BadBase64Error("not valid base64") from exc


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- key encoding -------------------------------------------------------------------------------


def _named_sm2() -> keys.ECDomainParameters:
    return keys.ECDomainParameters(name="named", value=oids.SM2_CURVE_NAME)


def _public_key_info(public_key: Sm2PublicKey) -> keys.PublicKeyInfo:
    return keys.PublicKeyInfo(
        {
            "algorithm": keys.PublicKeyAlgorithm({"algorithm": "ec", "parameters": _named_sm2()}),
            "public_key": public_key.to_point_bytes(),
        }
    )


def _unarmor_first(data: bytes | str, accepted: tuple[str, ...]) -> tuple[str, bytes]:
    if isinstance(data, str):
        try:
            data = data.encode("ascii")
        except UnicodeEncodeError as exc:
            raise MalformedPemError("PEM must be ASCII") from exc
    if not isinstance(data, bytes | bytearray):
        raise MalformedPemError("PEM must be bytes or text")
    if len(data) > _MAX_PEM_BYTES:
        raise MalformedPemError("PEM too large")
    if not pem.detect(bytes(data)):
        raise MalformedPemError("no PEM block found")
    try:
        blocks = list(pem.unarmor(bytes(data), multiple=True))
    except (ValueError, TypeError) as exc:
        raise MalformedPemError(f"unreadable PEM: {exc}") from exc
    for kind, _headers, der in blocks:
        if kind in accepted:
            return kind, bytes(der)
    found = ", ".join(kind for kind, _h, _d in blocks) or "nothing"
    raise MalformedPemError(f"expected a PEM block of type {' or '.join(accepted)}, found {found}")


def _check_curve(parameters: Any) -> None:
    if parameters is None or parameters.name != "named":
        raise WrongCurveError("key does not name its curve (explicit parameters are not accepted)")
    curve = parameters.chosen.dotted
    if curve != oids.SM2_CURVE_OID:
        name = parameters.chosen.native
        raise WrongCurveError(f"key is on curve {name}, not SM2 ({oids.SM2_CURVE_OID})")


def _parse(loader: Any, der: bytes, error: type[Exception], what: str) -> Any:
    try:
        value = loader.load(der, strict=True)
        value.native  # noqa: B018 - forces asn1crypto's lazy parser over the whole structure
    except Exception as exc:  # asn1crypto raises many exception types on garbage
        raise error(f"malformed {what}") from exc
    return value


def _public_from_spki_der(der: bytes) -> Sm2PublicKey:
    info = _parse(keys.PublicKeyInfo, der, MalformedPemError, "SubjectPublicKeyInfo")
    algorithm = info["algorithm"]["algorithm"].dotted
    if algorithm not in ("1.2.840.10045.2.1", oids.SM2_CURVE_OID):
        raise WrongCurveError(f"expected an SM2 (EC) public key, got algorithm {algorithm}")
    if algorithm == "1.2.840.10045.2.1":
        _check_curve(info["algorithm"]["parameters"])
    return _public_from_point(bytes(info["public_key"].native or b""))


def _public_from_point(point: bytes) -> Sm2PublicKey:
    if len(point) != 65 or point[0] != 4:
        raise InvalidKeyError("SM2 public key must be an uncompressed point (04||X||Y)")
    return Sm2PublicKey.from_point_bytes(point)


def _private_from_pkcs8_der(der: bytes) -> Sm2PrivateKey:
    info = _parse(keys.PrivateKeyInfo, der, MalformedPemError, "PKCS#8 private key")
    algorithm = info["private_key_algorithm"]["algorithm"].dotted
    if algorithm not in ("1.2.840.10045.2.1", oids.SM2_CURVE_OID):
        raise WrongCurveError(f"expected an SM2 (EC) private key, got algorithm {algorithm}")
    outer = info["private_key_algorithm"]["parameters"] if algorithm == "1.2.840.10045.2.1" else None
    if outer is not None:
        _check_curve(outer)
    inner = info["private_key"].contents
    return _private_from_sec1_der(bytes(inner), outer_parameters=outer)


def _private_from_sec1_der(der: bytes, outer_parameters: Any) -> Sm2PrivateKey:
    ec_private = _parse(keys.ECPrivateKey, der, MalformedPemError, "EC private key")
    inner = ec_private["parameters"]
    if inner.native is not None:
        _check_curve(inner)
    elif outer_parameters is None:
        raise WrongCurveError("EC private key does not name its curve")
    d = ec_private["private_key"].native
    if not isinstance(d, int):
        raise MalformedPemError("EC private key has no private scalar")
    key = Sm2PrivateKey(d)
    stated = ec_private["public_key"].native
    if stated is not None and bytes(stated) != key.public_key().to_point_bytes():
        raise InvalidKeyError("the private key file's public point does not match its private scalar")
    return key
