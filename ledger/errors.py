"""Typed errors with stable codes. A caller branches on ``error.code``, never on the message.

Every error raised by a write means that write changed nothing. Inside a caller's transaction
(``book.within(connection)``) the transaction stays usable after any `LedgerError` except
`TransactionConflict`, which means: roll the whole transaction back and run the use case again.
"""

from __future__ import annotations

from typing import ClassVar


class LedgerError(Exception):
    """Base of every error the ledger raises; ``code`` is stable, ``index`` is the batch position."""

    code: ClassVar[str] = "ledger_error"

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index

    def __repr__(self) -> str:
        where = f", index={self.index}" if self.index is not None else ""
        return f"{type(self).__name__}({self.code}: {self.message!r}{where})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, LedgerError)
            and type(other) is type(self)
            and (other.message, other.index) == (self.message, self.index)
        )

    def __hash__(self) -> int:
        return hash((type(self), self.message, self.index))


class InvalidInput(LedgerError):
    code = "invalid_input"


class InvalidAmount(InvalidInput):
    code = "invalid_amount"


class InvalidId(InvalidInput):
    code = "invalid_id"


class InvalidCode(InvalidInput):
    code = "invalid_code"


class InvalidMeta(InvalidInput):
    code = "invalid_meta"


class InvalidAccount(InvalidInput):
    """A malformed account code, kind, currency or flag set."""

    code = "invalid_account"


class InvalidTimeout(InvalidInput):
    code = "invalid_timeout"


class SameAccount(InvalidInput):
    code = "accounts_must_be_different"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"


class Overflow(LedgerError):
    """An account total would leave the signed 64-bit range the columns hold."""

    code = "overflow"


class ExistsWithDifferentContent(LedgerError):
    code = "exists_with_different_content"


class AccountExistsWithDifferentContent(LedgerError):
    code = "account_exists_with_different_content"


class AccountNotFound(LedgerError):
    code = "account_not_found"


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"


class TransferNotFound(LedgerError):
    code = "transfer_not_found"


class PendingNotFound(LedgerError):
    code = "pending_not_found"


class PendingAlreadyResolved(LedgerError):
    code = "pending_already_resolved"


class PendingExpired(LedgerError):
    code = "pending_expired"


class ExceedsPendingAmount(LedgerError):
    code = "exceeds_pending_amount"


class NotReversible(LedgerError):
    code = "not_reversible"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


class LedgerMismatch(LedgerError):
    """`check()` found a violation (raised by ``book.check(raise_on_violation=True)``)."""

    code = "ledger_mismatch"


class TransactionConflict(LedgerError):
    """A deadlock, serialization failure or concurrent duplicate that the ledger could not absorb.

    Outside a caller's transaction the ledger retries internally and this only surfaces after the
    retries are exhausted. Inside ``book.within(connection)`` it means: roll back and retry.
    """

    code = "transaction_conflict"


class StorageError(LedgerError):
    """The database failed in a way that is not the caller's input (connection lost, schema missing)."""

    code = "storage_error"
