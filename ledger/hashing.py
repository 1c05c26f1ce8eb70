"""SM3 over a canonical encoding: the transfer hash and the per-account entry chain.

SM3 (GB/T 32905) rather than SHA-256 because center finance audits with the national algorithms and
the gateway's audit log is SM3 too; through `cryptography` it costs about a microsecond per entry.

Chain design: one chain per account, not one global chain. A global chain would make every writer
wait for the previous entry's hash; per account, the row lock the transfer already holds orders the
chain for free. Each entry hashes the previous entry's hash of the same account and the hash of its
transfer (which covers every transfer column), and the account row keeps the head (last sequence
number and hash), so editing, inserting or deleting any entry or transfer breaks a chain or a head.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Final

from cryptography.hazmat.primitives import hashes

GENESIS: Final = "0" * 64


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _encode(values: list[object]) -> bytes:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def request_hash(fields: dict[str, object]) -> str:
    """The hash an idempotent replay is compared by: the request exactly as the caller gave it."""
    return sm3_hex(json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())


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
    return sm3_hex(
        _encode(
            [
                "transfer",
                id,
                kind,
                debit_account,
                credit_account,
                amount,
                currency,
                code,
                meta,
                pending_id,
                reverses_id,
                timestamp(timeout_at),
                timestamp(created_at),
                request_hash,
            ]
        )
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
    return sm3_hex(
        prev_hash.encode()
        + _encode(
            [
                account,
                account_seq,
                transfer_hash,
                side,
                posted,
                pending,
                balance_before,
                balance_after,
                debits_posted,
                credits_posted,
                debits_pending,
                credits_pending,
                timestamp(created_at),
            ]
        )
    )
