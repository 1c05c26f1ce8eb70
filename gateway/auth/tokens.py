"""Bearer tokens for people (bidders, finance staff, admins): a role and a subject, signed by the gateway.

Format: ``gw1.<base64url(canonical JSON claims)>.<base64url(HMAC-SM3(key, "gw1." + claims))>``.
Stateless, so any gateway process can check a token with the shared key; expiry is a claim. In
production the center's single sign-on would mint these after login; the CLI mints them for the demo.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from signing.canonical import canonical_json
from signing.sm3 import hmac_sm3

PREFIX = "gw1"
_SUBJECT = re.compile(r"^[A-Za-z0-9:._-]{1,100}$")


class Role(StrEnum):
    BIDDER = "bidder"
    FINANCE = "finance"
    ADMIN = "admin"


class TokenError(ValueError):
    code = "invalid_token"


class TokenExpired(TokenError):
    code = "token_expired"


@dataclass(frozen=True)
class TokenClaims:
    role: Role
    subject: str
    issued_at: datetime
    expires_at: datetime
    name: str | None = None  # the party's registered name (a bidder's company name), as SSO asserts it


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(
    key: bytes, role: Role, subject: str, *, now: datetime, ttl: timedelta, name: str | None = None
) -> str:
    if not _SUBJECT.match(subject):
        raise TokenError(f"subject {subject!r} must be 1-100 of [A-Za-z0-9:._-]")
    if name is not None and not 1 <= len(name.strip()) <= 200:
        raise TokenError("name must be 1-200 characters")
    claims: dict[str, object] = {
        "role": role.value,
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if name is not None:
        claims["name"] = name.strip()
    payload = f"{PREFIX}.{_b64(canonical_json(claims))}"
    return f"{payload}.{_b64(hmac_sm3(key, payload.encode()))}"


def verify_token(key: bytes, token: str, *, now: datetime) -> TokenClaims:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenError("not a gateway token")
    payload = f"{parts[0]}.{parts[1]}"
    try:
        mac = _unb64(parts[2])
        claims = json.loads(_unb64(parts[1]))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("token is not well-formed") from exc
    if not hmac.compare_digest(mac, hmac_sm3(key, payload.encode())):
        raise TokenError("token signature does not match")
    try:
        claims_out = TokenClaims(
            role=Role(claims["role"]),
            subject=str(claims["sub"]),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            name=str(claims["name"]) if "name" in claims else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError("token claims are not well-formed") from exc
    if claims_out.expires_at <= now:
        raise TokenExpired("token has expired")
    return claims_out
