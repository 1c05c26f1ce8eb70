"""SM2 signatures over HTTP messages (interfaces.md, "SM2 request signature").

Systems -> gateway (requests)::

    Authorization: GW-SM2-SM3 key_id="<id>",timestamp="<unix s>",nonce="<16-64 [A-Za-z0-9]>",
                   signature="<b64 DER>"          (one line)

over the UTF-8 string ``METHOD\\nPATH_AND_QUERY\\nTIMESTAMP\\nNONCE\\nSM3_HEX_OF_BODY\\n``.

Gateway -> systems (responses, webhooks, push calls): headers ``Gw-Key-Id``, ``Gw-Timestamp``,
``Gw-Nonce``, ``Gw-Signature`` over ``STATUS_OR_METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSM3_HEX_OF_BODY\\n``.

SM2 with SM3 and signer ID 1234567812345678; signatures DER, base64. This module is pure: it builds and
checks strings, so that the gateway, the reference partner server and any partner's client share one
definition. Time windows and nonce memory belong to the caller.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from signing.errors import SigningError
from signing.sm2 import Sm2PrivateKey, Sm2PublicKey, b64decode_strict, b64encode
from signing.sm3 import sm3_hex

SCHEME = "GW-SM2-SM3"
EMPTY_BODY_SM3 = sm3_hex(b"")
_NONCE = re.compile(r"^[A-Za-z0-9]{16,64}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_PARAM = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_REQUIRED = ("key_id", "timestamp", "nonce", "signature")


class MalformedAuthorizationError(SigningError):
    code = "malformed_authorization"


@dataclass(frozen=True)
class SignatureParams:
    key_id: str
    timestamp: int
    nonce: str
    signature: bytes  # DER


def canonical_string(first: str, path_and_query: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """``first`` is the request METHOD, or the response STATUS code as text."""
    return f"{first}\n{path_and_query}\n{timestamp}\n{nonce}\n{sm3_hex(body)}\n".encode()


def new_nonce() -> str:
    return secrets.token_hex(16)


def sign_request(
    key: Sm2PrivateKey,
    key_id: str,
    method: str,
    path_and_query: str,
    body: bytes,
    *,
    timestamp: int,
    nonce: str | None = None,
) -> str:
    """The value of the Authorization header for this request."""
    nonce = nonce or new_nonce()
    signature = key.sign(canonical_string(method.upper(), path_and_query, timestamp, nonce, body))
    return (
        f'{SCHEME} key_id="{key_id}",timestamp="{timestamp}",nonce="{nonce}",'
        f'signature="{b64encode(signature)}"'
    )


def parse_authorization(value: str) -> SignatureParams:
    scheme, _, rest = value.strip().partition(" ")
    if scheme != SCHEME:
        raise MalformedAuthorizationError(f"authorization scheme must be {SCHEME}")
    params: dict[str, str] = {}
    for part in rest.split(","):
        match = _PARAM.fullmatch(part)
        if match is None:
            raise MalformedAuthorizationError(f"cannot read parameter {part.strip()[:40]!r}")
        name, text = match.groups()
        if name in params:
            raise MalformedAuthorizationError(f"parameter {name} given twice")
        params[name] = text
    missing = [name for name in _REQUIRED if name not in params]
    if missing:
        raise MalformedAuthorizationError(f"missing parameter(s): {', '.join(missing)}")
    if not _KEY_ID.match(params["key_id"]):
        raise MalformedAuthorizationError("key_id must be 1-100 of [A-Za-z0-9._:-]")
    if not params["timestamp"].isdigit() or len(params["timestamp"]) > 12:
        raise MalformedAuthorizationError("timestamp must be unix seconds")
    if not _NONCE.match(params["nonce"]):
        raise MalformedAuthorizationError("nonce must be 16-64 characters of [A-Za-z0-9]")
    try:
        signature = b64decode_strict(params["signature"])
    except SigningError as exc:
        raise MalformedAuthorizationError("signature is not base64") from exc
    return SignatureParams(params["key_id"], int(params["timestamp"]), params["nonce"], signature)


def verify_request(
    public_key: Sm2PublicKey, params: SignatureParams, method: str, path_and_query: str, body: bytes
) -> bool:
    message = canonical_string(method.upper(), path_and_query, params.timestamp, params.nonce, body)
    try:
        return public_key.verify(message, params.signature)
    except SigningError:  # a malformed DER signature is simply not a valid one
        return False


def sign_response(
    key: Sm2PrivateKey,
    key_id: str,
    status_or_method: str,
    path: str,
    body: bytes,
    *,
    timestamp: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers for something the gateway sends: a response (status) or a webhook/push call (method)."""
    nonce = nonce or new_nonce()
    signature = key.sign(canonical_string(status_or_method, path, timestamp, nonce, body))
    return {
        "Gw-Key-Id": key_id,
        "Gw-Timestamp": str(timestamp),
        "Gw-Nonce": nonce,
        "Gw-Signature": b64encode(signature),
    }


def verify_response(
    public_key: Sm2PublicKey, headers: dict[str, str], status_or_method: str, path: str, body: bytes
) -> bool:
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        timestamp = int(lowered["gw-timestamp"])
        signature = b64decode_strict(lowered["gw-signature"])
        nonce = lowered["gw-nonce"]
    except (KeyError, ValueError, SigningError):
        return False
    try:
        return public_key.verify(canonical_string(status_or_method, path, timestamp, nonce, body), signature)
    except SigningError:
        return False
