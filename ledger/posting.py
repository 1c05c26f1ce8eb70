"""The pure core: turn validated requests into transfer and entry rows against in-memory account
state. No I/O; the store loads the state under lock, calls `plan()`, and writes what it returns.

Every request is checked completely before it touches the state, so a refused request changes
nothing (in an atomic batch the store simply writes nothing at all).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal, NamedTuple, TypeVar

from ledger import hashing
from ledger.errors import (
    AccountNotFound,
    AlreadyReversed,
    CurrencyMismatch,
    ExceedsPendingAmount,
    ExistsWithDifferentContent,
    InsufficientFunds,
    InvalidAmount,
    InvalidInput,
    InvalidTimeout,
    LedgerError,
    NotReversible,
    Overflow,
    PendingAlreadyResolved,
    PendingExpired,
    PendingNotFound,
    SameAccount,
    TransferNotFound,
)
from ledger.model import (
    EXPIRY_PREFIX,
    MAX_AMOUNT,
    AccountKind,
    Transfer,
    TransferKind,
    canonical_meta,
    check_account_code,
    check_amount,
    check_code,
    check_currency,
    check_id,
    check_timeout,
    transfer_of,
)

T = TypeVar("T")
Action = Literal["transfer", "post", "void", "reverse", "expire"]
_SPEC_KEYS = frozenset(
    {
        "id",
        "debit",
        "credit",
        "amount",
        "code",
        "meta",
        "currency",
        "pending",
        "timeout_s",
        "pending_id",
        "void",
        "original_id",
    }
)


@dataclass(slots=True)  # not frozen: a frozen init costs a setattr call per field, x1,000 per batch
class Request:
    index: int
    action: Action
    id: str
    debit: str | None = None
    credit: str | None = None
    amount: int | None = None
    code: str | None = None
    meta: str = "{}"
    currency: str | None = None
    pending: bool = False
    timeout_s: int | None = None
    target_id: str | None = None  # the hold (post, void, expire) or the original (reverse)
    request_hash: str = ""  # the version-3 fingerprint text (`hashing.request_descriptor`)

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(a for a in (self.debit, self.credit) if a is not None)


def parse(spec: Mapping[str, Any], index: int) -> Request:
    """Validate one `submit()` item; every refusal names its position in the batch."""
    try:
        return _parse(spec, index)
    except LedgerError as error:
        error.index = index
        raise


def _parse(spec: Mapping[str, Any], index: int) -> Request:
    if type(spec) is not dict and not isinstance(spec, Mapping):  # the ABC check only for non-dicts
        raise InvalidInput(f"a transfer must be a mapping, not {type(spec).__name__}")
    if not _SPEC_KEYS.issuperset(spec):
        unknown = set(spec) - _SPEC_KEYS
        raise InvalidInput(f"unknown transfer fields: {sorted(unknown)}")
    get = spec.get
    transfer_id = check_id(get("id"))
    meta = get("meta")
    meta = "{}" if meta is None else canonical_meta(meta)
    code = get("code")
    if code is not None:
        code = _valid(code, check_code, _VALID_CODES)
    currency = get("currency")
    if currency is not None:
        currency = check_currency(currency)
    amount = get("amount")
    pending = get("pending", False)
    void = get("void", False)
    if not isinstance(pending, bool) or not isinstance(void, bool):
        raise InvalidInput("pending and void must be booleans")
    timeout_s = get("timeout_s")
    if timeout_s is not None:
        timeout_s = check_timeout(timeout_s)
    debit, credit = get("debit"), get("credit")
    target: str | None
    if "pending_id" in spec:
        target = check_id(spec["pending_id"], what="pending_id")
        action: Action = "void" if void else "post"
        if any(key in spec for key in ("debit", "credit", "original_id", "timeout_s")) or pending:
            raise InvalidInput("a post or void names only the hold (pending_id), not accounts")
        if void and amount is not None:
            raise InvalidAmount("a void releases the whole hold and takes no amount")
        if amount is not None:
            check_amount(amount)
    elif "original_id" in spec:
        target = check_id(spec["original_id"], what="original_id")
        action = "reverse"
        if any(key in spec for key in ("debit", "credit", "timeout_s")) or pending or void:
            raise InvalidInput("a reversal names only the original transfer (original_id)")
        if amount is not None:
            raise InvalidAmount("a reversal moves the original amount back and takes no amount")
    else:
        target = None
        action = "transfer"
        if void:
            raise InvalidInput("void needs a pending_id")
        check_amount(amount)
        _valid(debit, check_account_code, _VALID_ACCOUNTS)
        _valid(credit, check_account_code, _VALID_ACCOUNTS)
        if debit == credit:
            raise SameAccount("debit and credit must be different accounts")
        if code is None:
            raise InvalidInput("a transfer needs a code")
        if timeout_s is not None and not pending:
            raise InvalidTimeout("timeout_s only applies to a hold (pending=True)")
    fingerprint = hashing.request_descriptor(currency, code is not None, amount is not None)
    return Request(index, action, transfer_id, debit, credit, amount, code, meta, currency, pending,
                   timeout_s, target, fingerprint)  # fmt: skip


# Account codes and transfer codes repeat across a batch (and across batches): each distinct text is
# checked by its regular expression once, then remembered in the set of its own check. Only exact
# ``str`` values are remembered (a subclass could compare equal to a valid code while holding other
# text), and each set is bounded.
_VALID_ACCOUNTS: set[str] = set()
_VALID_CODES: set[str] = set()
_VALID_MAX: Final = 65_536


def _valid(value: object, check: Callable[[object], str], seen: set[str]) -> str:
    if type(value) is str and value in seen:
        return value
    checked = check(value)
    if type(checked) is str:
        if len(seen) >= _VALID_MAX:
            seen.clear()
        seen.add(checked)
    return checked


def expiry_request(index: int, pending_id: str) -> Request:
    return Request(
        index=index,
        action="expire",
        id=EXPIRY_PREFIX + pending_id,
        target_id=pending_id,
        code="expired",
        request_hash=hashing.request_descriptor(None, True, False),
    )


# What an idempotent replay compares: the request's fields, as version 2 hashed them (without id).
RequestKey = tuple[str, str | None, str | None, int | None, str | None, str | None, bool, timedelta | None,
                   str | None]  # fmt: skip
_ACTIONS: Final = {
    TransferKind.POSTED: "transfer",
    TransferKind.PENDING: "transfer",
    TransferKind.POST: "post",
    TransferKind.VOID: "void",
    TransferKind.EXPIRE: "expire",
    TransferKind.REVERSAL: "reverse",
}


def request_key(request: Request) -> RequestKey:
    timeout = None if request.timeout_s is None else timedelta(seconds=request.timeout_s)
    return (request.action, request.debit, request.credit, request.amount, request.code, request.currency,
            request.pending, timeout, request.target_id)  # fmt: skip


def request_key_of(row: TransferRow) -> RequestKey | None:
    """The key of the request that wrote a row with a version-3 fingerprint (None for version 2):
    what the row does not show is in its ``request_hash`` text (see `ledger.hashing`)."""
    descriptor = row.request_hash
    if not descriptor.startswith(hashing.REQUEST_V3):
        return None
    try:
        currency, code_given, amount_given = descriptor[len(hashing.REQUEST_V3) : -1].split("|")
    except ValueError:
        return None
    action = _ACTIONS[row.kind]
    ordinary = action == "transfer"
    timeout = None if row.timeout_at is None else row.timeout_at - row.created_at
    return (action, row.debit_account if ordinary else None, row.credit_account if ordinary else None,
            row.amount if amount_given == "1" else None, row.code if code_given == "1" else None,
            None if currency == "~" else currency.partition(":")[2], row.kind is TransferKind.PENDING,
            timeout, row.pending_id or row.reverses_id)  # fmt: skip


def same_request(row: TransferRow, request: Request) -> bool:
    """Whether ``request`` repeats the one that wrote ``row`` (``meta`` is compared by the caller).
    Computed only when a request's id already exists, so only replays and conflicts pay for it."""
    key = request_key_of(row)
    if key is not None:
        return row.request_hash == request.request_hash and key == request_key(request)
    return row.request_hash == hashing.request_hash(
        action=request.action, id=request.id, debit=request.debit, credit=request.credit,
        amount=request.amount, code=request.code, currency=request.currency, pending=request.pending,
        timeout_s=request.timeout_s, target=request.target_id,
    )  # fmt: skip


_DEBIT_NORMAL: Final = frozenset(kind for kind in AccountKind if kind.debit_normal)
# Enum ``.value`` is a Python-level descriptor in 3.11 (~0.3 µs); the write path reads it from a dict.
KIND_TEXT: Final = {kind: kind.value for kind in TransferKind}
KIND_FIELD: Final = {kind: hashing.field(kind.value) for kind in TransferKind}  # encoded for the node hash


@dataclass(slots=True)
class AccountState:
    """An account row as locked for this transaction; the totals move as the plan goes."""

    id: int
    code: str
    kind: AccountKind
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    entry_seq: int
    head_hash: str
    dirty: bool = False
    debit_normal: bool = False  # set from `kind` (read once per entry on the write path)
    field: str = ""  # the code as a node-hash field (`hashing.field`), encoded once per batch

    def __post_init__(self) -> None:
        self.debit_normal = self.kind in _DEBIT_NORMAL  # a set look-up, not an enum property
        self.field = hashing.field(self.code)

    def net(self, debits_posted: int, credits_posted: int) -> int:
        if self.debit_normal:
            return debits_posted - credits_posted
        return credits_posted - debits_posted


class TransferRow(NamedTuple):
    """A ``ledger_transfers`` row (a named tuple: immutable, and cheap to build by the thousand)."""

    id: str
    kind: TransferKind
    debit_account: str
    credit_account: str
    amount: int
    currency: str
    code: str
    meta: str
    pending_id: str | None
    reverses_id: str | None
    timeout_at: datetime | None
    created_at: datetime
    request_hash: str
    hash: str

    def as_tuple(self, db_time: Callable[[datetime], object]) -> tuple[object, ...]:
        """The row in `TRANSFER_COLUMNS` order, timestamps as the database driver takes them."""
        timeout_at = None if self.timeout_at is None else db_time(self.timeout_at)
        return (self.id, KIND_TEXT[self.kind], self.debit_account, self.credit_account, self.amount,
                self.currency, self.code, self.meta, self.pending_id, self.reverses_id, timeout_at,
                db_time(self.created_at), self.request_hash, self.hash)  # fmt: skip

    def public(self, *, replayed: bool = False) -> Transfer:
        return transfer_of(self.id, self.kind, self.debit_account, self.credit_account, self.amount,
                           self.currency, self.code, {} if self.meta == "{}" else json.loads(self.meta),
                           self.created_at, self.pending_id, self.reverses_id, self.timeout_at,
                           replayed)  # fmt: skip

    def expected_hash(self) -> str:
        return hashing.transfer_hash(
            id=self.id,
            kind=self.kind.value,
            debit_account=self.debit_account,
            credit_account=self.credit_account,
            amount=self.amount,
            currency=self.currency,
            code=self.code,
            meta=self.meta,
            pending_id=self.pending_id,
            reverses_id=self.reverses_id,
            timeout_at=self.timeout_at,
            created_at=self.created_at,
            request_hash=self.request_hash,
        )


def entry_deltas(row: TransferRow, hold_amount: int | None) -> tuple[int, int]:
    """(posted, pending) added to each side's totals by a transfer; the same for both sides."""
    if row.kind in (TransferKind.POSTED, TransferKind.REVERSAL):
        return row.amount, 0
    if row.kind is TransferKind.PENDING:
        return 0, row.amount
    if hold_amount is None:
        raise ValueError(f"a {row.kind.value} needs its hold's amount")
    if row.kind is TransferKind.POST:
        return row.amount, -hold_amount
    return 0, -hold_amount  # void, expire


TRANSFER_COLUMNS: Final = ("id", "kind", "debit_account", "credit_account", "amount", "currency", "code",
                            "meta", "pending_id", "reverses_id", "timeout_at", "created_at",
                            "request_hash", "hash")  # fmt: skip
ENTRY_COLUMNS: Final = ("transfer_id", "account_id", "account_seq", "side", "posted", "pending",
                         "balance_before", "balance_after", "debits_posted", "credits_posted",
                         "debits_pending", "credits_pending", "created_at", "prev_hash", "hash")  # fmt: skip


def _same_time(value: datetime) -> object:
    return value


@dataclass(slots=True)
class Plan:
    """What to write: ``transfers`` and ``entries`` rows as tuples in `TRANSFER_COLUMNS` and
    `ENTRY_COLUMNS` order, timestamps passed through ``db_time`` (the driver's form)."""

    results: list[Transfer | LedgerError] = field(default_factory=list)
    transfers: list[tuple[object, ...]] = field(default_factory=list)
    entries: list[tuple[object, ...]] = field(default_factory=list)
    db_time: Callable[[datetime], object] = _same_time

    @property
    def written(self) -> int:
        return len(self.transfers)


@dataclass(slots=True)
class State:
    """What the plan needs to know: locked accounts, the transfers its requests refer to, and
    which holds are already resolved and which transfers already reversed (by id)."""

    accounts: dict[str, AccountState]
    transfers: dict[str, TransferRow]
    resolutions: dict[str, TransferRow]  # hold id -> its post, void or expiry
    reversals: dict[str, str]  # original id -> reversal id


def plan(
    requests: Sequence[Request],
    state: State,
    *,
    now: datetime,
    atomic: bool,
    db_time: Callable[[datetime], object] = _same_time,
) -> Plan:
    out = Plan(db_time=db_time)
    at = _At(now, hashing.micros(now), db_time(now))  # the batch's one timestamp, encoded once
    results = out.results
    transfers, accounts = state.transfers, state.accounts
    for request in requests:
        try:
            if request.action == "transfer" and request.id not in transfers:
                # The common case inline: what `_new_transfer` decides for a plain posted transfer.
                debit, credit = accounts.get(request.debit), accounts.get(request.credit)  # type: ignore[arg-type]
                if debit is None or credit is None:
                    missing = request.debit if debit is None else request.credit
                    raise AccountNotFound(f"no account {missing!r}")
                if request.pending or request.currency is not None or debit.currency != credit.currency:
                    _apply(request, *_new_transfer(request, debit, credit, at), state, out, at)
                else:
                    _apply(request, _POSTED, debit, credit, _given(request.amount), debit.currency,
                           _given(request.code), None, None, None, None, state, out, at)  # fmt: skip
                continue
            decided = _decide(request, state, at)
            if isinstance(decided, Transfer):  # an idempotent replay
                results.append(decided)
                continue
            _apply(request, *decided, state, out, at)
        except LedgerError as error:
            error.index = request.index
            if atomic:
                raise
            results.append(error)
    return out


_POSTED: Final = TransferKind.POSTED


class _At(NamedTuple):
    """The batch's timestamp as a datetime, as hash text (`hashing.micros`) and as the driver binds it."""

    now: datetime
    text: str
    db: object


class _Move(NamedTuple):
    """What a request decided to write, before the accounts move: the transfer's own fields."""

    kind: TransferKind
    debit: AccountState
    credit: AccountState
    amount: int
    currency: str
    code: str
    pending_id: str | None = None
    reverses_id: str | None = None
    timeout_at: datetime | None = None
    hold_amount: int | None = None  # a post, void or expiry: the hold's amount


def _decide(request: Request, state: State, at: _At) -> _Move | Transfer:
    existing = state.transfers.get(request.id)
    if existing is not None:
        if existing.meta == request.meta and same_request(existing, request):
            return existing.public(replayed=True)
        raise ExistsWithDifferentContent(f"transfer {request.id!r} exists with different content")
    action = request.action
    if action == "transfer":
        debit = _account(state, _given(request.debit))
        return _new_transfer(request, debit, _account(state, _given(request.credit)), at)
    if action == "reverse":
        return _reversal(request, state)
    return _resolution(request, state, at)


def _given(value: T | None) -> T:
    """Narrows a field `parse()` has already required for this action."""
    if value is None:
        raise InvalidInput("a required field is missing")
    return value


def _account(state: State, code: str) -> AccountState:
    account = state.accounts.get(code)
    if account is None:
        raise AccountNotFound(f"no account {code!r}")
    return account


def _check_currency(request: Request, currency: str) -> None:
    if request.currency is not None and request.currency != currency:
        raise CurrencyMismatch(f"the accounts hold {currency}, the transfer says {request.currency}")


def _new_transfer(request: Request, debit: AccountState, credit: AccountState, at: _At) -> _Move:
    currency = debit.currency
    if currency != credit.currency:
        raise CurrencyMismatch(f"{debit.code} holds {debit.currency}, {credit.code} holds {credit.currency}")
    if request.currency is not None:
        _check_currency(request, currency)
    amount, code = _given(request.amount), _given(request.code)
    if request.pending:
        timeout_at = at.now + timedelta(seconds=request.timeout_s) if request.timeout_s else None
        return _Move(TransferKind.PENDING, debit, credit, amount, currency, code, timeout_at=timeout_at)
    return _Move(TransferKind.POSTED, debit, credit, amount, currency, code)


def _reversal(request: Request, state: State) -> _Move:
    original = state.transfers.get(_given(request.target_id))
    if original is None:
        raise TransferNotFound(f"no transfer {request.target_id!r}")
    if original.kind not in (TransferKind.POSTED, TransferKind.POST, TransferKind.REVERSAL):
        raise NotReversible(f"{original.id!r} is a {original.kind.value} transfer; only posted ones reverse")
    if original.id in state.reversals:
        raise AlreadyReversed(f"{original.id!r} was reversed by {state.reversals[original.id]!r}")
    _check_currency(request, original.currency)
    code = request.code or "reversal"
    return _Move(TransferKind.REVERSAL, _account(state, original.credit_account),
                 _account(state, original.debit_account), original.amount, original.currency, code,
                 reverses_id=original.id)  # fmt: skip


def _resolution(request: Request, state: State, at: _At) -> _Move:
    now = at.now
    hold = state.transfers.get(_given(request.target_id))
    if hold is None or hold.kind is not TransferKind.PENDING:
        raise PendingNotFound(f"no hold {request.target_id!r}")
    resolution = state.resolutions.get(hold.id)
    if resolution is not None:
        if resolution.kind is TransferKind.EXPIRE:
            raise PendingExpired(f"hold {hold.id!r} expired")
        raise PendingAlreadyResolved(f"hold {hold.id!r} was resolved by {resolution.id!r}")
    expired = hold.timeout_at is not None and hold.timeout_at <= now
    if request.action == "expire":
        if not expired:
            raise PendingNotFound(f"hold {hold.id!r} has not timed out")
        kind = TransferKind.EXPIRE
    elif expired:
        raise PendingExpired(f"hold {hold.id!r} expired at {hold.timeout_at}")
    else:
        kind = TransferKind.POST if request.action == "post" else TransferKind.VOID
    _check_currency(request, hold.currency)
    amount = hold.amount
    if kind is TransferKind.POST and request.amount is not None:
        if request.amount > hold.amount:
            raise ExceedsPendingAmount(f"posting {request.amount} from a hold of {hold.amount}")
        amount = request.amount
    code = request.code or hold.code
    return _Move(kind, _account(state, hold.debit_account), _account(state, hold.credit_account), amount,
                 hold.currency, code, pending_id=hold.id, hold_amount=hold.amount)  # fmt: skip


def _apply(
    request: Request, kind: TransferKind, debit: AccountState, credit: AccountState, amount: int,
    currency: str, code: str, pending_id: str | None, reverses_id: str | None, timeout_at: datetime | None,
    hold_amount: int | None, state: State, out: Plan, at: _At,
) -> None:  # fmt: skip
    """Check both accounts' new totals, then (only then) move them and emit the rows (the transfer
    and its two entries, all three carrying the one version-3 node hash, `hashing.node_hash_of`) and
    the result. The fields are a `_Move`'s, spread out."""
    if kind is TransferKind.POSTED or kind is TransferKind.REVERSAL:
        posted, pending = amount, 0
    elif kind is TransferKind.PENDING:
        posted, pending = 0, amount
    else:
        if hold_amount is None:
            raise ValueError(f"a {kind.value} needs its hold's amount")
        posted, pending = (amount if kind is TransferKind.POST else 0), -hold_amount
    new_dp, new_dpe = debit.debits_posted + posted, debit.debits_pending + pending
    new_cp, new_cpe = credit.credits_posted + posted, credit.credits_pending + pending
    if new_dp > MAX_AMOUNT or new_dpe > MAX_AMOUNT or new_cp > MAX_AMOUNT or new_cpe > MAX_AMOUNT:
        raise Overflow(f"transfer {request.id!r} would overflow an account total")
    if debit.debits_must_not_exceed_credits and new_dp + new_dpe > debit.credits_posted:
        raise InsufficientFunds(f"{debit.code}: debits would exceed credits")
    if debit.credits_must_not_exceed_debits and debit.credits_posted + debit.credits_pending > new_dp:
        raise InsufficientFunds(f"{debit.code}: credits would exceed debits")
    if credit.credits_must_not_exceed_debits and new_cp + new_cpe > credit.debits_posted:
        raise InsufficientFunds(f"{credit.code}: credits would exceed debits")
    if credit.debits_must_not_exceed_credits and credit.debits_posted + credit.debits_pending > new_cp:
        raise InsufficientFunds(f"{credit.code}: debits would exceed credits")

    # Each side's totals after the entry, its net balance before and after, and its chain link.
    d_dp, d_cp, d_dpe, d_cpe = new_dp, debit.credits_posted, new_dpe, debit.credits_pending
    if debit.debit_normal:
        d_before, d_after = debit.debits_posted - d_cp, new_dp - d_cp
    else:
        d_before, d_after = d_cp - debit.debits_posted, d_cp - new_dp
    c_dp, c_cp, c_dpe, c_cpe = credit.debits_posted, new_cp, credit.debits_pending, new_cpe
    if credit.debit_normal:
        c_before, c_after = c_dp - credit.credits_posted, c_dp - new_cp
    else:
        c_before, c_after = credit.credits_posted - c_dp, new_cp - c_dp
    d_seq, c_seq = debit.entry_seq + 1, credit.entry_seq + 1
    d_prev, c_prev = debit.head_hash, credit.head_hash

    transfer_id, kind_text, meta = request.id, KIND_TEXT[kind], request.meta
    request_hash = request.request_hash
    debit_code, credit_code = debit.code, credit.code
    digest = hashing.node_hash_of(
        transfer_id, KIND_FIELD[kind], debit.field, credit.field, currency, code, meta, pending_id,
        reverses_id, "~" if timeout_at is None else hashing.micros(timeout_at), at.text, request_hash, d_prev,
        c_prev,
        amount, posted, pending,
        d_seq, d_before, d_after, d_dp, d_cp, d_dpe, d_cpe,
        c_seq, c_before, c_after, c_dp, c_cp, c_dpe, c_cpe,
    )  # fmt: skip
    created_at = at.db
    out.transfers.append((transfer_id, kind_text, debit_code, credit_code, amount, currency, code, meta,
                          pending_id, reverses_id, None if timeout_at is None else out.db_time(timeout_at),
                          created_at, request_hash, digest))  # fmt: skip
    out.entries.append((transfer_id, debit.id, d_seq, "D", posted, pending, d_before, d_after, d_dp, d_cp,
                        d_dpe, d_cpe, created_at, d_prev, digest))  # fmt: skip
    out.entries.append((transfer_id, credit.id, c_seq, "C", posted, pending, c_before, c_after, c_dp, c_cp,
                        c_dpe, c_cpe, created_at, c_prev, digest))  # fmt: skip
    debit.debits_posted, debit.debits_pending, debit.entry_seq = new_dp, new_dpe, d_seq
    credit.credits_posted, credit.credits_pending, credit.entry_seq = new_cp, new_cpe, c_seq
    debit.head_hash = credit.head_hash = digest
    debit.dirty = credit.dirty = True
    now = at.now
    row = TransferRow(transfer_id, kind, debit_code, credit_code, amount, currency, code, meta, pending_id,
                      reverses_id, timeout_at, now, request_hash, digest)  # fmt: skip
    state.transfers[transfer_id] = row
    if pending_id is not None:
        state.resolutions[pending_id] = row
    if reverses_id is not None:
        state.reversals[reverses_id] = transfer_id
    out.results.append(transfer_of(transfer_id, kind, debit_code, credit_code, amount, currency, code,
                                   {} if meta == "{}" else json.loads(meta), now, pending_id, reverses_id,
                                   timeout_at, False))  # fmt: skip
