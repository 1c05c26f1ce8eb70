"""A double-entry ledger: accounts, transfers (with holds, posts, voids, reversals and atomic
batches), running balances, a per-account SM3 hash chain and a full `check()`.

Knows nothing of guarantees or HTTP; runs the same code on SQLite and PostgreSQL.

    from ledger import open_ledger
    book = open_ledger("sqlite:///ledger.db")
    book.create_account("center:C1:escrow_bank", kind="asset")
    book.transfer(id="t-1", debit=..., credit=..., amount=500_000_00, code="deposit_received")
    with engine.begin() as connection:          # the application's own transaction
        book.within(connection).transfer(...)   # commits with it, or not at all
"""

from ledger.book import Ledger, has_tables, open_ledger
from ledger.errors import (
    AccountExistsWithDifferentContent,
    AccountNotFound,
    AlreadyReversed,
    CurrencyMismatch,
    ExceedsPendingAmount,
    ExistsWithDifferentContent,
    InsufficientFunds,
    InvalidAccount,
    InvalidAmount,
    InvalidCode,
    InvalidId,
    InvalidInput,
    InvalidMeta,
    InvalidTimeout,
    LedgerError,
    LedgerMismatch,
    NotReversible,
    Overflow,
    PendingAlreadyResolved,
    PendingExpired,
    PendingNotFound,
    SameAccount,
    StorageError,
    TransactionConflict,
    TransferNotFound,
)
from ledger.model import (
    MAX_AMOUNT,
    Account,
    AccountFlag,
    AccountKind,
    Balance,
    CheckReport,
    Entry,
    Transfer,
    TransferKind,
    TransferSpec,
    Violation,
)
from ledger.tables import metadata

__all__ = [
    "MAX_AMOUNT",
    "Account",
    "AccountExistsWithDifferentContent",
    "AccountFlag",
    "AccountKind",
    "AccountNotFound",
    "AlreadyReversed",
    "Balance",
    "CheckReport",
    "CurrencyMismatch",
    "Entry",
    "ExceedsPendingAmount",
    "ExistsWithDifferentContent",
    "InsufficientFunds",
    "InvalidAccount",
    "InvalidAmount",
    "InvalidCode",
    "InvalidId",
    "InvalidInput",
    "InvalidMeta",
    "InvalidTimeout",
    "Ledger",
    "LedgerError",
    "LedgerMismatch",
    "NotReversible",
    "Overflow",
    "PendingAlreadyResolved",
    "PendingExpired",
    "PendingNotFound",
    "SameAccount",
    "StorageError",
    "TransactionConflict",
    "Transfer",
    "TransferKind",
    "TransferNotFound",
    "TransferSpec",
    "Violation",
    "has_tables",
    "metadata",
    "open_ledger",
]
