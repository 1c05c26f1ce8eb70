"""Immutable values the ledger hands out, and the validation of what callers hand in."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, NotRequired, TypedDict

from ledger.errors import InvalidAccount, InvalidAmount, InvalidCode, InvalidId, InvalidMeta, InvalidTimeout

# Amounts are integer fen. Columns are signed 64-bit; any account total that would leave that range
# is refused with `overflow` (TigerBeetle refuses the same way), so no amount limit below it applies.
MAX_AMOUNT: Final = 2**63 - 1

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:.\-]{0,127}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# Account codes are built by the application (e.g. "bidder:{uscc}:deposit:{section}"); any printable
# text without whitespace is accepted.
_ACCOUNT = re.compile(r"[^\s\x00-\x1f\x7f]{1,200}")
EXPIRY_PREFIX: Final = "expired:"  # ids of the voids written by expire_pending(); refused for clients


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"

    @property
    def debit_normal(self) -> bool:
        return self in (AccountKind.ASSET, AccountKind.EXPENSE)


class AccountFlag(StrEnum):
    DEBITS_MUST_NOT_EXCEED_CREDITS = "debits_must_not_exceed_credits"
    CREDITS_MUST_NOT_EXCEED_DEBITS = "credits_must_not_exceed_debits"


class TransferKind(StrEnum):
    POSTED = "posted"  # an ordinary transfer
    PENDING = "pending"  # a hold
    POST = "post"  # posts a hold (fully or partly; the rest is released)
    VOID = "void"  # releases a hold
    EXPIRE = "expire"  # releases a hold whose timeout passed (written by expire_pending)
    REVERSAL = "reversal"  # moves a posted transfer's amount back


class TransferSpec(TypedDict):
    """One item of `Ledger.submit()`: the keyword arguments of the matching single call.

    - transfer / hold: ``debit``, ``credit``, ``amount`` (and ``pending=True``, ``timeout_s``)
    - post a hold: ``pending_id`` (``amount`` None or missing = the full hold)
    - void a hold: ``pending_id`` and ``void=True``
    - reversal: ``original_id``
    """

    id: str
    debit: NotRequired[str]
    credit: NotRequired[str]
    amount: NotRequired[int | None]
    code: NotRequired[str | None]
    meta: NotRequired[Mapping[str, Any] | None]
    currency: NotRequired[str | None]
    pending: NotRequired[bool]
    timeout_s: NotRequired[int | None]
    pending_id: NotRequired[str]
    void: NotRequired[bool]
    original_id: NotRequired[str]


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    kind: AccountKind
    currency: str
    flags: frozenset[AccountFlag]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's totals. ``net`` is the posted balance on the account's normal side
    (debits minus credits for assets and expenses, credits minus debits otherwise)."""

    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    net: int


@dataclass(frozen=True)  # no slots: `transfer_of` fills the instance dict in one step (see there)
class Transfer:
    id: str
    kind: TransferKind
    debit: str
    credit: str
    amount: int
    currency: str
    code: str
    meta: Mapping[str, Any]
    created_at: datetime
    pending_id: str | None = None
    reverses_id: str | None = None
    timeout_at: datetime | None = None
    replayed: bool = field(default=False, compare=False)  # True when an earlier identical call wrote it


_new = object.__new__
_set = object.__setattr__


def transfer_of(
    id: str,  # noqa: A002 - the field's name
    kind: TransferKind, debit: str, credit: str, amount: int, currency: str, code: str,
    meta: Mapping[str, Any], created_at: datetime, pending_id: str | None, reverses_id: str | None,
    timeout_at: datetime | None, replayed: bool,
) -> Transfer:  # fmt: skip
    """A `Transfer` as its constructor makes it, for the write path (one per transfer in a batch):
    the generated frozen ``__init__`` sets the 13 fields one ``object.__setattr__`` call at a time
    (~1.9 µs); filling the instance dict at once takes ~0.5 µs. The result is an ordinary, frozen
    `Transfer` (equal to, and indistinguishable from, one made by the constructor)."""
    transfer = _new(Transfer)
    _set(transfer, "__dict__", {
        "id": id, "kind": kind, "debit": debit, "credit": credit, "amount": amount, "currency": currency,
        "code": code, "meta": meta, "created_at": created_at, "pending_id": pending_id,
        "reverses_id": reverses_id, "timeout_at": timeout_at, "replayed": replayed,
    })  # fmt: skip
    return transfer


@dataclass(frozen=True, slots=True)
class Entry:
    """One account's side of a transfer, with the account's totals after it."""

    account: str
    seq: int  # 1, 2, 3 ... per account
    transfer_id: str
    side: str  # "D" or "C"
    posted: int  # added to the side's posted total
    pending: int  # added to the side's pending total (negative when a hold is released)
    balance_before: int  # net posted balance before / after this entry
    balance_after: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    created_at: datetime
    hash: str


@dataclass(frozen=True, slots=True)
class Violation:
    code: str
    message: str
    account: str | None = None
    transfer_id: str | None = None


@dataclass(frozen=True, slots=True)
class CheckReport:
    accounts: int
    transfers: int
    entries: int
    violations: tuple[Violation, ...]

    @property
    def clean(self) -> bool:
        return not self.violations


def check_id(value: object, *, what: str = "id") -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value) or value.startswith(EXPIRY_PREFIX):
        raise InvalidId(f"{what} must be 1-128 of [A-Za-z0-9_:.-] starting alphanumeric: {value!r}")
    return value


def check_amount(value: object) -> int:
    if type(value) is not int or not 0 < value <= MAX_AMOUNT:
        raise InvalidAmount(f"amount must be a positive integer number of fen: {value!r}")
    return value


def check_code(value: object) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise InvalidCode(f"code must match [a-z][a-z0-9_]{{0,63}}: {value!r}")
    return value


def check_currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise InvalidAccount(f"currency must be three capital letters: {value!r}")
    return value


def check_account_code(value: object) -> str:
    if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
        raise InvalidAccount(f"account code must be 1-200 printable characters without spaces: {value!r}")
    return value


def check_timeout(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 < value <= 10 * 366 * 86_400:
        raise InvalidTimeout(
            f"timeout_s must be a positive integer of seconds (at most ten years): {value!r}"
        )
    return value


def _check_json(value: object, path: str) -> None:
    if value is None or isinstance(value, bool | str) or type(value) is int:
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidMeta(f"meta keys must be strings: {path}.{key!r}")
            _check_json(item, f"{path}.{key}")
        return
    # No floats: meta is hashed, and a float does not survive a round trip on every backend.
    raise InvalidMeta(f"meta values must be str, int, bool, None, lists or objects: {path} = {value!r}")


def canonical_meta(meta: object) -> str:
    if meta is None:
        return "{}"
    if not isinstance(meta, Mapping):
        raise InvalidMeta(f"meta must be an object: {meta!r}")
    _check_json(meta, "meta")
    text = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) > 8_000:
        raise InvalidMeta("meta is larger than 8,000 characters")
    return text
