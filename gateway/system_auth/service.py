"""Authenticating system parties by their SM2 request signatures, and managing their keys.

The checks run in this order so that the cheapest refusals come first and a nonce is only remembered
for a request that was really signed by the key's holder (otherwise anyone could burn nonces):
parse -> key known and active -> timestamp within the window -> signature -> nonce unseen.

Key rows are cached per process and per engine for `KEY_CACHE_SECONDS` (5 s): on SQLite every
transaction takes the write lock (``BEGIN IMMEDIATE``), so reading the key for each request meant two
write-locked transactions per request where one (the nonce) is needed. Consequences, by design:
- a key retired (or re-registered) through `retire_key` / `register_key` is re-read at once by the
  process that did it; every other gateway process refuses a retired key at most `KEY_CACHE_SECONDS`
  after the retirement commits;
- unknown key ids are never cached, so a newly registered key works at once everywhere;
- nonces are never cached: each accepted request inserts its nonce in the shared database, so a
  replay is refused by every process, whichever one saw the original.
"""

from __future__ import annotations

import functools
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy import Engine, bindparam, delete, event, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.audit import service as audit
from gateway.auth.caller import Caller
from gateway.errors import Conflict, GatewayError
from gateway.system_auth.tables import SeenNonce, SystemKey
from signing.errors import SigningError
from signing.http_signature import MalformedAuthorizationError, parse_authorization, verify_request
from signing.sm2 import Sm2PublicKey

WINDOW = timedelta(seconds=300)
KEY_CACHE_SECONDS = 5.0  # the longest another process keeps accepting a retired key (see above)
MAX_ACTIVE_KEYS = 2
PARTY_KINDS = ("institution", "center", "bank")


class SignatureRefused(GatewayError):
    status = 401
    title = "Signature refused"
    code: ClassVar[str] = "signature_refused"


class MalformedAuthorization(SignatureRefused):
    code = "malformed_authorization"


class UnknownKey(SignatureRefused):
    code = "unknown_key"


class KeyRetired(SignatureRefused):
    code = "key_retired"


class StaleTimestamp(SignatureRefused):
    code = "stale_timestamp"


class BadSignature(SignatureRefused):
    code = "bad_signature"


class ReplayedNonce(SignatureRefused):
    code = "replayed_nonce"


class TooManyActiveKeys(Conflict):
    code = "too_many_active_keys"


@dataclass(frozen=True)
class SignedRequest:
    authorization: str
    method: str
    path_and_query: str
    body: bytes


def authenticate(sessions: sessionmaker[Session], request: SignedRequest, now: datetime) -> Caller:
    try:
        params = parse_authorization(request.authorization)
    except MalformedAuthorizationError as exc:
        raise MalformedAuthorization(str(exc)) from exc
    # Core statements, not ORM sessions: this runs on every system request, and the ORM's unit of work
    # cost more than the SM2 verification itself (bench/partner).
    engine = sessions.kw["bind"]
    row = _key_row(engine, params.key_id)
    if row is None:
        raise UnknownKey(f"no key {params.key_id!r} is registered")
    party_kind, party_code, pem, status = row
    if status != "active":
        raise KeyRetired(f"key {params.key_id!r} was retired; sign with the party's current key")
    skew = abs(now.timestamp() - params.timestamp)
    if skew > WINDOW.total_seconds():
        raise StaleTimestamp(f"timestamp is {int(skew)} s away from the gateway's clock (limit 300 s)")
    if not verify_request(_public_key(pem), params, request.method, request.path_and_query, request.body):
        raise BadSignature(
            "the SM2 signature does not match the request (method, path, timestamp, nonce, body)"
        )
    try:
        with engine.begin() as connection:  # the request's only transaction (cache hit)
            nonce = {"key_id": params.key_id, "nonce": params.nonce, "expires_at": now + 2 * WINDOW}
            connection.execute(_NONCE_INSERT, nonce)
    except IntegrityError as exc:
        raise ReplayedNonce("this nonce was already used; every request needs a fresh one") from exc
    return Caller(kind=party_kind, subject=party_code)


_KEY_QUERY = select(
    SystemKey.party_kind, SystemKey.party_code, SystemKey.public_key_pem, SystemKey.status
).where(SystemKey.key_id == bindparam("key_id"))


_NONCE_INSERT = insert(SeenNonce)
KeyRow = tuple[str, str, str, str]  # party_kind, party_code, public_key_pem, status
# engine -> key_id -> (monotonic deadline, row); per engine, so databases in one process never mix.
_key_cache: weakref.WeakKeyDictionary[Engine, dict[str, tuple[float, KeyRow]]] = weakref.WeakKeyDictionary()
_KEY_CACHE_LIMIT = 1_024
monotonic = time.monotonic  # the cache's clock (tests move it)


def _key_row(engine: Engine, key_id: str) -> KeyRow | None:
    cache = _key_cache.get(engine)
    if cache is None:
        cache = _key_cache.setdefault(engine, {})
    clock = monotonic()
    hit = cache.get(key_id)
    if hit is not None and hit[0] > clock:
        return hit[1]
    with engine.connect() as connection:
        found = connection.execute(_KEY_QUERY, {"key_id": key_id}).one_or_none()
    if found is None:
        cache.pop(key_id, None)
        return None
    row: KeyRow = (found[0], found[1], found[2], found[3])
    if len(cache) >= _KEY_CACHE_LIMIT:  # only registered ids get here; a bound all the same
        cache.clear()
    cache[key_id] = (clock + KEY_CACHE_SECONDS, row)
    return row


def _forget_key(session: Session, key_id: str) -> None:
    """Drop a changed key from this process's cache now and again once the change commits (a request
    between the two may have re-read the old row)."""
    engine = session.get_bind()
    if not isinstance(engine, Engine):
        engine = engine.engine

    def forget(_session: Session | None = None) -> None:
        cache = _key_cache.get(engine)
        if cache is not None:
            cache.pop(key_id, None)

    forget()
    event.listen(session, "after_commit", forget, once=True)


@functools.lru_cache(maxsize=256)
def _public_key(pem: str) -> Sm2PublicKey:
    """Parsed once per process, keyed by the PEM itself (a key's status is still read per request)."""
    return Sm2PublicKey.from_pem(pem)


def purge_nonces(sessions: sessionmaker[Session], now: datetime) -> int:
    with sessions() as session, session.begin():
        result = session.execute(delete(SeenNonce).where(SeenNonce.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


def register_key(
    session: Session,
    *,
    party_kind: str,
    party_code: str,
    key_id: str,
    public_key_pem: str,
    now: datetime,
    actor: str,
) -> SystemKey:
    """Adds an active key (in the caller's transaction). A third active key is refused: retire one first."""
    if party_kind not in PARTY_KINDS:
        raise ValueError(f"party_kind must be one of {PARTY_KINDS}")
    try:
        Sm2PublicKey.from_pem(public_key_pem)
    except SigningError as exc:
        raise ValueError(f"not an SM2 public key: {exc}") from exc
    existing = session.get(SystemKey, key_id)
    if existing is not None:
        if (existing.party_kind, existing.party_code, existing.public_key_pem) != (
            party_kind,
            party_code,
            public_key_pem,
        ):
            raise Conflict(f"key id {key_id!r} is already registered to another key or party")
        return existing
    active = session.scalar(
        select(func.count())
        .select_from(SystemKey)
        .where(
            SystemKey.party_kind == party_kind,
            SystemKey.party_code == party_code,
            SystemKey.status == "active",
        )
    )
    if (active or 0) >= MAX_ACTIVE_KEYS:
        raise TooManyActiveKeys(f"{party_kind} {party_code} already has {MAX_ACTIVE_KEYS} active keys")
    key = SystemKey(
        key_id=key_id,
        party_kind=party_kind,
        party_code=party_code,
        public_key_pem=public_key_pem,
        status="active",
        created_at=now,
        retired_at=None,
    )
    session.add(key)
    session.flush()
    _forget_key(session, key_id)
    audit.append(
        session,
        actor=actor,
        action="system_key.registered",
        object_type="system_key",
        object_id=key_id,
        after={"party_kind": party_kind, "party_code": party_code},
        at=now,
    )
    return key


def retire_key(session: Session, key_id: str, *, now: datetime, actor: str) -> None:
    key = session.get(SystemKey, key_id)
    if key is None or key.status == "retired":
        return
    key.status, key.retired_at = "retired", now
    _forget_key(session, key_id)
    audit.append(
        session,
        actor=actor,
        action="system_key.retired",
        object_type="system_key",
        object_id=key_id,
        before={"status": "active"},
        after={"status": "retired"},
        at=now,
    )
