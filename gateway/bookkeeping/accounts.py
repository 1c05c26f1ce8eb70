"""The chart of accounts (shared/design/ledger.md), per center. Codes are strings built here only.

Constraints say what can never happen to the money: an escrow bank account cannot pay out more than
came in (credits must not exceed debits); nobody can be paid back more than they are owed (debits
must not exceed credits on every liability).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger import Account, AccountFlag, AccountKind, Ledger

_OWED = frozenset({AccountFlag.DEBITS_MUST_NOT_EXCEED_CREDITS})
_CASH = frozenset({AccountFlag.CREDITS_MUST_NOT_EXCEED_DEBITS})


@dataclass(frozen=True, slots=True)
class AccountSpec:
    code: str
    kind: AccountKind
    flags: frozenset[AccountFlag] = frozenset()
    currency: str = "CNY"


def _part(value: str) -> str:
    if not value or ":" in value or any(ch.isspace() for ch in value):
        raise ValueError(f"an account code part must be non-empty, without ':' or spaces: {value!r}")
    return value


def center_escrow_bank(center: str) -> AccountSpec:
    """Cash deposits in; refunds and forfeits out."""
    return AccountSpec(f"center:{_part(center)}:escrow_bank", AccountKind.ASSET, _CASH)


def center_deposit_suspense(center: str) -> AccountSpec:
    """Money on the escrow account that no deposit could be matched to yet (the exception queue): owed
    to someone, never income, until finance assigns it to a bidder or returns it to the payer."""
    return AccountSpec(f"center:{_part(center)}:deposit_suspense", AccountKind.LIABILITY, _OWED)


def center_escrow_interest_income(center: str) -> AccountSpec:
    """Interest the escrow bank credits to the escrow account (结息): what funds the interest the
    center pays back with each refund."""
    return AccountSpec(f"center:{_part(center)}:escrow_interest_income", AccountKind.REVENUE)


def center_interest_expense(center: str) -> AccountSpec:
    """Interest accrued on deposits."""
    return AccountSpec(f"center:{_part(center)}:interest_expense", AccountKind.EXPENSE)


def bidder_deposit(uscc: str, section: str) -> AccountSpec:
    """A bidder's cash deposit owed back."""
    return AccountSpec(f"bidder:{_part(uscc)}:deposit:{_part(section)}", AccountKind.LIABILITY, _OWED)


def bidder_interest(uscc: str, section: str) -> AccountSpec:
    """Interest owed with the refund."""
    return AccountSpec(f"bidder:{_part(uscc)}:interest:{_part(section)}", AccountKind.LIABILITY, _OWED)


def tenderee_forfeit(uscc: str, section: str) -> AccountSpec:
    """Forfeited deposits owed to the tenderee."""
    return AccountSpec(f"tenderee:{_part(uscc)}:forfeit:{_part(section)}", AccountKind.LIABILITY, _OWED)


def platform_premium_clearing() -> AccountSpec:
    """Premiums collected from bidders."""
    return AccountSpec("platform:premium_clearing", AccountKind.ASSET, _CASH)


def institution_payable(institution: str) -> AccountSpec:
    """Premiums owed to the institution."""
    return AccountSpec(f"institution:{_part(institution)}:payable", AccountKind.LIABILITY, _OWED)


def platform_fee_revenue() -> AccountSpec:
    """The platform's service fee, if any."""
    return AccountSpec("platform:fee_revenue", AccountKind.REVENUE)


def bidder_premium_refund(uscc: str) -> AccountSpec:
    """Premiums to give back on surrender."""
    return AccountSpec(f"bidder:{_part(uscc)}:premium_refund", AccountKind.LIABILITY, _OWED)


def open_accounts(book: Ledger, specs: Iterable[AccountSpec]) -> list[Account]:
    """Create the accounts if missing (idempotent; a differing existing account is refused)."""
    return [
        book.create_account(spec.code, kind=spec.kind, flags=spec.flags, currency=spec.currency)
        for spec in dict.fromkeys(specs)
    ]
