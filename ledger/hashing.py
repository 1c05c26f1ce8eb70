"""SM3 over a canonical encoding: the request fingerprint, the transfer hash and the per-account
entry chain.

SM3 (GB/T 32905) rather than SHA-256 because center finance audits with the national algorithms and
the gateway's audit log is SM3 too. It comes from ``hashlib`` when the OpenSSL behind it offers SM3
(OpenSSL 3 does; a pre-made hash object is copied per call, about 1 µs for a short input), otherwise
from `cryptography` (about twice that); both give the same digest.

Chain design: one chain per account, not one global chain. A global chain would make every writer
wait for the previous entry's hash; per account, the row lock the transfer already holds orders the
chain for free. Each entry hashes the previous entry's hash of the same account and the hash of its
transfer (which covers every transfer column), and the account row keeps the head (last sequence
number and hash), so editing, inserting or deleting any entry or transfer breaks a chain or a head.

Encoding (version 2). A preimage is one text, encoded as UTF-8: a tag, then the fields in a fixed
order, each followed by ``|``:

- a text field is ``<length>:<text>`` with the length in characters (code points), so any text,
  including one holding ``|`` or ``:``, is read back exactly;
- an integer is its decimal digits (with ``-`` if negative);
- a timestamp is the integer number of microseconds since 1970-01-01T00:00:00Z;
- an absent value (None) is ``~``.

Since each position has a fixed type and every field ends where its length or its ``|`` says, two
different rows never share a preimage. The preimages are::

    request  R2|action|id|debit|credit|amount|code|currency|pending|timeout_s|target|
    transfer T2|id|kind|debit_account|credit_account|amount|currency|code|meta|pending_id|
               reverses_id|timeout_at|created_at|request_hash|
    entry    E2|prev_hash|account|account_seq|transfer_hash|side|posted|pending|balance_before|
               balance_after|debits_posted|credits_posted|debits_pending|credits_pending|created_at|

(``pending`` is 1 or 0.) The request fingerprint leaves out ``meta``: the transfer hash covers it,
and a replay compares it directly (`posting._decide`), so its bytes are hashed once.

Request fingerprint version 3 (rows written from version 3 on). The ``request_hash`` column keeps what
an idempotent replay must compare and the transfer row itself does not show, as plain text rather
than a digest::

    R3|currency|code_given|amount_given|

``currency`` is the currency the request named (``~`` when it named none); ``code_given`` and
``amount_given`` are 1 or 0 (a post, void or reversal may leave its code, a post its amount, to the
hold or the original). Every other request field follows from the row: the action from ``kind``,
debit, credit, amount and code of an ordinary transfer from its columns, ``pending`` from ``kind``,
``timeout_s`` from ``timeout_at - created_at`` (whole seconds), the hold or original from
``pending_id`` / ``reverses_id`` (`posting.request_key_of`). So a replay compares the same fields
version 2 hashed, without an SM3 per request. The transfer preimage is unchanged (``T2``, with this
text in its ``request_hash`` field), so the transfer hash and the entry chain cover it exactly as
they covered the digest, and `check()` verifies rows of either version with the same code. A replay
against a version-2 row computes the version-2 fingerprint of the new request and compares digests.

Node hash, version 3 (rows written from version 3 on). One SM3 per transfer instead of three: a
transfer and its two entries share one hash, the SM3 of a text part followed by a binary part::

    N3|id|kind|debit_account|credit_account|currency|code|meta|pending_id|reverses_id|timeout_at|
       created_at|request_hash|
       side|account|created_at|prev_hash|        (the debit entry, side 1:D)
       side|account|created_at|prev_hash|        (the credit entry, side 1:C)

encoded as UTF-8 (the fields as above), then 19 integers, each as 8 bytes, big-endian two's
complement (every amount and total is a signed 64-bit column)::

    amount,
    account_seq, posted, pending, balance_before, balance_after,
        debits_posted, credits_posted, debits_pending, credits_pending     (the debit entry)
    account_seq, posted, ..., credits_pending                              (the credit entry)

The text part ends where its fixed number of fields ends, the binary part has a fixed length, so two
different nodes never share a preimage. (Integers are binary here because formatting 19 of them as
decimal text cost as much as the SM3 itself.) The value is stored in the transfer's ``hash`` and in
both entries' ``hash``. Each entry still links to its account's previous entry by ``prev_hash``, and
the account row keeps the head, so the per-account chains are as before; the node hash covers every
column of the three rows (but the keys) and both predecessors, so editing, inserting or deleting any
of them breaks the node, a link or a head exactly as with ``T2``/``E2``. A node hash tells only that
one of its three rows changed, not which: `check()` then reports the transfer and both entries.

Rows of versions 2 and 3 are told apart by the rows themselves: a version-3 transfer and its entries
carry the same hash, which ``T2``/``E2`` digests of different preimages never do. An entry that
carries its transfer's hash is verified as part of the node (`check()`, pass 2); any other entry and
transfer as ``E2``/``T2``; a row claiming version 3 that does not verify as a node is reported.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple

GENESIS: Final = "0" * 64
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def _hashlib_sm3() -> Callable[[bytes], str] | None:
    try:
        base = hashlib.new("sm3")
    except ValueError:  # this OpenSSL has no SM3
        return None

    def sm3_hex(data: bytes) -> str:
        digest = base.copy()
        digest.update(data)
        return digest.hexdigest()

    return sm3_hex


def _cryptography_sm3(data: bytes) -> str:
    from cryptography.hazmat.primitives import hashes

    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


sm3_hex: Callable[[bytes], str] = _hashlib_sm3() or _cryptography_sm3


_last_micros: tuple[datetime, str] = (_EPOCH, "0")  # a batch shares one timestamp


def micros(value: datetime | None) -> str:
    """A timestamp's field text: microseconds since the epoch, or ``~``."""
    global _last_micros  # noqa: PLW0603 - a one-entry memo; the tuple is swapped atomically
    if value is None:
        return "~"
    last = _last_micros
    if last[0] is value:
        return last[1]
    encoded = str((value - _EPOCH) // _MICROSECOND)
    _last_micros = (value, encoded)
    return encoded


def text(value: str | None) -> str:
    """A text field: ``<length>:<text>``, or ``~``."""
    return "~" if value is None else f"{len(value)}:{value}"


def request_hash(
    *,
    action: str,
    id: str,  # noqa: A002 - the request's field name
    debit: str | None,
    credit: str | None,
    amount: int | None,
    code: str | None,
    currency: str | None,
    pending: bool,
    timeout_s: int | None,
    target: str | None,
) -> str:
    """The fingerprint an idempotent replay is compared by (with ``meta``, compared as text)."""
    preimage = (
        f"R2|{len(action)}:{action}|{len(id)}:{id}|{text(debit)}|{text(credit)}|"
        f"{'~' if amount is None else amount}|{text(code)}|{text(currency)}|{1 if pending else 0}|"
        f"{'~' if timeout_s is None else timeout_s}|{text(target)}|"
    )
    return sm3_hex(preimage.encode())


REQUEST_V3: Final = "R3|"
_descriptors: dict[tuple[str | None, bool, bool], str] = {}


def request_descriptor(currency: str | None, code_given: bool, amount_given: bool) -> str:
    """The version-3 ``request_hash`` text (see the module docstring); memoised, there are few."""
    key = (currency, code_given, amount_given)
    found = _descriptors.get(key)
    if found is None:
        found = f"{REQUEST_V3}{text(currency)}|{int(code_given)}|{int(amount_given)}|"
        if len(_descriptors) < 1_024:  # bounded: currencies are three capital letters anyway
            _descriptors[key] = found
    return found


def transfer_hash(
    *,
    id: str,  # noqa: A002 - the transfer's column name
    kind: str,
    debit_account: str,
    credit_account: str,
    amount: int,
    currency: str,
    code: str,
    meta: str,
    pending_id: str | None,
    reverses_id: str | None,
    timeout_at: datetime | None,
    created_at: datetime,
    request_hash: str,
) -> str:
    return transfer_hash_of(id, kind, debit_account, credit_account, amount, currency, code, meta, pending_id,
                            reverses_id, micros(timeout_at), micros(created_at), request_hash)  # fmt: skip


def transfer_hash_of(
    id: str,  # noqa: A002 - the transfer's column name
    kind: str, debit_account: str, credit_account: str, amount: int, currency: str, code: str, meta: str,
    pending_id: str | None, reverses_id: str | None, timeout: str, created: str, request_hash: str,
) -> str:  # fmt: skip
    """`transfer_hash` with positional fields and the timestamps already encoded (`micros`)."""
    return sm3_hex(
        f"T2|{len(id)}:{id}|{len(kind)}:{kind}|{len(debit_account)}:{debit_account}|"
        f"{len(credit_account)}:{credit_account}|{amount}|{len(currency)}:{currency}|"
        f"{len(code)}:{code}|{len(meta)}:{meta}|{text(pending_id)}|{text(reverses_id)}|"
        f"{timeout}|{created}|{len(request_hash)}:{request_hash}|".encode()
    )


NODE_TAG: Final = "N3|"
NODE_INTEGERS: Final = struct.Struct(">19q")  # amount, then 9 per entry (debit, credit)
_pack = NODE_INTEGERS.pack


def field(value: str) -> str:
    """A text field of the node preimage, ``<length>:<text>``: the write path encodes each account's
    code once per batch and each kind once (`node_hash_of` takes those encoded)."""
    return f"{len(value)}:{value}"


def node_hash_of(
    id: str,  # noqa: A002 - the transfer's column name
    kind_field: str, debit_field: str, credit_field: str, currency: str, code: str, meta: str,
    pending_id: str | None, reverses_id: str | None, timeout: str, created: str, request_hash: str,
    debit_prev: str, credit_prev: str, amount: int, posted: int, pending: int,
    debit_seq: int, debit_before: int, debit_after: int, debit_dp: int, debit_cp: int, debit_dpe: int,
    debit_cpe: int,
    credit_seq: int, credit_before: int, credit_after: int, credit_dp: int, credit_cp: int, credit_dpe: int,
    credit_cpe: int,
) -> str:  # fmt: skip
    """The version-3 node hash, the write path's form: positional; the kind and both account codes
    already encoded (`field`), the timestamps too (`micros`); the entries on the transfer's own
    accounts at its time, both moving by ``posted`` and ``pending`` (as the write path makes them).
    `node_hash` is the general form; both give the very same preimage."""
    numbers = _pack(amount, debit_seq, posted, pending, debit_before, debit_after, debit_dp, debit_cp,
                    debit_dpe, debit_cpe, credit_seq, posted, pending, credit_before, credit_after, credit_dp,
                    credit_cp, credit_dpe, credit_cpe)  # fmt: skip
    return sm3_hex(
        f"N3|{len(id)}:{id}|{kind_field}|{debit_field}|{credit_field}|{len(currency)}:{currency}|"
        f"{len(code)}:{code}|{len(meta)}:{meta}|{'~' if pending_id is None else field(pending_id)}|"
        f"{'~' if reverses_id is None else field(reverses_id)}|{timeout}|{created}|"
        f"{len(request_hash)}:{request_hash}|1:D|{debit_field}|{created}|{len(debit_prev)}:{debit_prev}|"
        f"1:C|{credit_field}|{created}|{len(credit_prev)}:{credit_prev}|".encode()
        + numbers
    )


class NodeEntry(NamedTuple):
    """One entry's hashed fields in a version-3 node (its ``account`` is the account's code)."""

    account: str
    account_seq: int
    side: str
    posted: int
    pending: int
    balance_before: int
    balance_after: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    created_at: datetime
    prev_hash: str


def node_hash(
    *,
    id: str,  # noqa: A002 - the transfer's column name
    kind: str,
    debit_account: str,
    credit_account: str,
    amount: int,
    currency: str,
    code: str,
    meta: str,
    pending_id: str | None,
    reverses_id: str | None,
    timeout_at: datetime | None,
    created_at: datetime,
    request_hash: str,
    debit: NodeEntry,
    credit: NodeEntry,
) -> str | None:
    """The version-3 node hash of a transfer and its debit and credit entries, from stored columns
    (what `check()` recomputes; any field may hold anything there, so every one is encoded). None when
    a stored integer is not a signed 64-bit integer: no node written by the ledger has such a field."""
    entries = "".join(
        f"{text(entry.side)}|{text(entry.account)}|{micros(entry.created_at)}|{text(entry.prev_hash)}|"
        for entry in (debit, credit)
    )
    head = (
        f"N3|{text(id)}|{text(kind)}|{text(debit_account)}|{text(credit_account)}|{text(currency)}|"
        f"{text(code)}|{text(meta)}|{text(pending_id)}|{text(reverses_id)}|{micros(timeout_at)}|"
        f"{micros(created_at)}|{text(request_hash)}|"
    )
    numbers = [amount]
    for entry in (debit, credit):
        numbers += entry[1:2] + entry[3:11]  # account_seq, then posted ... credits_pending
    if any(type(number) is not int for number in numbers):
        return None
    try:
        packed = NODE_INTEGERS.pack(*numbers)
    except struct.error:
        return None
    return sm3_hex((head + entries).encode() + packed)


def entry_hash_of(
    prev_hash: str, account: str, account_seq: int, transfer_hash: str, side: str, posted: int, pending: int,
    balance_before: int, balance_after: int, debits_posted: int, credits_posted: int, debits_pending: int,
    credits_pending: int, created: str,
) -> str:  # fmt: skip
    """`entry_hash` with positional fields and the timestamp already encoded (`micros`): the write
    path's form, one call per entry. Both produce the very same preimage."""
    return sm3_hex(
        f"E2|{len(prev_hash)}:{prev_hash}|{len(account)}:{account}|{account_seq}|"
        f"{len(transfer_hash)}:{transfer_hash}|{len(side)}:{side}|{posted}|{pending}|"
        f"{balance_before}|{balance_after}|{debits_posted}|{credits_posted}|{debits_pending}|"
        f"{credits_pending}|{created}|".encode()
    )


def entry_hash(
    *,
    prev_hash: str,
    account: str,
    account_seq: int,
    transfer_hash: str,
    side: str,
    posted: int,
    pending: int,
    balance_before: int,
    balance_after: int,
    debits_posted: int,
    credits_posted: int,
    debits_pending: int,
    credits_pending: int,
    created_at: datetime,
) -> str:
    return entry_hash_of(prev_hash, account, account_seq, transfer_hash, side, posted, pending,
                         balance_before, balance_after, debits_posted, credits_posted, debits_pending,
                         credits_pending, micros(created_at))  # fmt: skip
