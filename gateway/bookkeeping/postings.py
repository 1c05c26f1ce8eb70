"""Named postings: each business event's transfers, as ``ledger.TransferSpec`` dicts.

Every builder returns a `Posting`: the accounts it needs and the specs to submit as one atomic
batch. Ids are the caller's, derived from the business event (a payment number, a guarantee number),
so a retried use case replays instead of posting twice.

Money on its way (a refund instruction sent to the bank, a premium paid but not yet issued) is a
hold; the bank's confirmation or the statement match posts it (`settle`), a failure voids it (`cancel`).
"""

# ruff: noqa: A002 - `id` is the ledger's name for the client id

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.bookkeeping import accounts as chart
from gateway.bookkeeping.accounts import AccountSpec, open_accounts
from ledger import Ledger, Transfer, TransferSpec


@dataclass(frozen=True, slots=True)
class Posting:
    accounts: tuple[AccountSpec, ...]
    transfers: tuple[TransferSpec, ...]

    def write(self, book: Ledger) -> list[Transfer]:
        """Open the accounts and submit the transfers atomically (use ``book.within(conn)``)."""
        open_accounts(book, self.accounts)
        return book.submit(list(self.transfers), atomic=True)


def _positive(amount: int) -> int:
    if type(amount) is not int or amount <= 0:
        raise ValueError(f"amount must be a positive integer number of fen: {amount!r}")
    return amount


def _meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(meta or {})


def deposit_received(
    *, id: str, center: str, uscc: str, section: str, amount: int, meta: Mapping[str, Any] | None = None
) -> Posting:
    """A bidder's cash deposit arrived in the center's escrow bank account."""
    bank, owed = chart.center_escrow_bank(center), chart.bidder_deposit(uscc, section)
    spec: TransferSpec = {"id": id, "debit": bank.code, "credit": owed.code, "amount": _positive(amount),
                          "code": "deposit_received", "meta": _meta(meta)}  # fmt: skip
    return Posting((bank, owed), (spec,))


def deposit_unmatched(*, id: str, center: str, amount: int, meta: Mapping[str, Any] | None = None) -> Posting:
    """Money arrived on the escrow account that matches no deposit: held on the suspense account."""
    bank, suspense = chart.center_escrow_bank(center), chart.center_deposit_suspense(center)
    spec: TransferSpec = {"id": id, "debit": bank.code, "credit": suspense.code, "amount": _positive(amount),
                          "code": "deposit_unmatched", "meta": _meta(meta)}  # fmt: skip
    return Posting((bank, suspense), (spec,))


def suspense_assigned(
    *, id: str, center: str, uscc: str, section: str, amount: int, meta: Mapping[str, Any] | None = None
) -> Posting:
    """Finance matched suspense money to a bidder and section by hand: now that bidder's deposit."""
    suspense, owed = chart.center_deposit_suspense(center), chart.bidder_deposit(uscc, section)
    spec: TransferSpec = {"id": id, "debit": suspense.code, "credit": owed.code, "amount": _positive(amount),
                          "code": "suspense_assigned", "meta": _meta(meta)}  # fmt: skip
    return Posting((suspense, owed), (spec,))


def suspense_return(
    *, id: str, center: str, amount: int, timeout_s: int | None = None, meta: Mapping[str, Any] | None = None
) -> Posting:
    """Suspense money sent back to its payer: a hold until the bank confirms or fails."""
    bank, suspense = chart.center_escrow_bank(center), chart.center_deposit_suspense(center)
    spec: TransferSpec = {"id": id, "debit": suspense.code, "credit": bank.code, "amount": _positive(amount),
                          "code": "suspense_return", "pending": True, "timeout_s": timeout_s,
                          "meta": _meta(meta)}  # fmt: skip
    return Posting((bank, suspense), (spec,))


def escrow_interest_credited(
    *, id: str, center: str, amount: int, meta: Mapping[str, Any] | None = None
) -> Posting:
    """The escrow bank credited interest (结息) to the escrow account."""
    bank, income = chart.center_escrow_bank(center), chart.center_escrow_interest_income(center)
    spec: TransferSpec = {"id": id, "debit": bank.code, "credit": income.code, "amount": _positive(amount),
                          "code": "escrow_interest_credited", "meta": _meta(meta)}  # fmt: skip
    return Posting((bank, income), (spec,))


def interest_accrual(
    *, id: str, center: str, uscc: str, section: str, amount: int, meta: Mapping[str, Any] | None = None
) -> Posting:
    """Interest the center owes on a deposit, owed back with the refund."""
    expense, owed = chart.center_interest_expense(center), chart.bidder_interest(uscc, section)
    spec: TransferSpec = {"id": id, "debit": expense.code, "credit": owed.code, "amount": _positive(amount),
                          "code": "interest_accrual", "meta": _meta(meta)}  # fmt: skip
    return Posting((expense, owed), (spec,))


def refund_instruction(
    *,
    id: str,
    center: str,
    uscc: str,
    section: str,
    deposit: int,
    interest: int = 0,
    timeout_s: int | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Posting:
    """A refund sent to the bank: holds on the deposit (``{id}:deposit``) and the interest
    (``{id}:interest``) until the bank confirms (`settle`) or fails (`cancel`)."""
    bank = chart.center_escrow_bank(center)
    owed, interest_owed = chart.bidder_deposit(uscc, section), chart.bidder_interest(uscc, section)
    specs: list[TransferSpec] = [
        {"id": f"{id}:deposit", "debit": owed.code, "credit": bank.code, "amount": _positive(deposit),
         "code": "refund_instruction", "pending": True, "timeout_s": timeout_s, "meta": _meta(meta)},
    ]  # fmt: skip
    if interest:
        specs.append(
            {"id": f"{id}:interest", "debit": interest_owed.code, "credit": bank.code,
             "amount": _positive(interest), "code": "refund_instruction", "pending": True,
             "timeout_s": timeout_s, "meta": _meta(meta)}
        )  # fmt: skip
    return Posting((bank, owed, interest_owed), tuple(specs))


def forfeit(
    *,
    id: str,
    uscc: str,
    tenderee: str,
    section: str,
    amount: int,
    meta: Mapping[str, Any] | None = None,
) -> Posting:
    """A bidder's deposit forfeited: now owed to the tenderee instead of the bidder."""
    owed, tenderee_owed = chart.bidder_deposit(uscc, section), chart.tenderee_forfeit(tenderee, section)
    spec: TransferSpec = {"id": id, "debit": owed.code, "credit": tenderee_owed.code,
                          "amount": _positive(amount), "code": "forfeit", "meta": _meta(meta)}  # fmt: skip
    return Posting((owed, tenderee_owed), (spec,))


def forfeit_payout(
    *,
    id: str,
    center: str,
    tenderee: str,
    section: str,
    amount: int,
    timeout_s: int | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Posting:
    """A forfeited deposit sent to the tenderee: a hold until the bank confirms."""
    bank, owed = chart.center_escrow_bank(center), chart.tenderee_forfeit(tenderee, section)
    spec: TransferSpec = {"id": id, "debit": owed.code, "credit": bank.code, "amount": _positive(amount),
                          "code": "forfeit_payout", "pending": True, "timeout_s": timeout_s,
                          "meta": _meta(meta)}  # fmt: skip
    return Posting((bank, owed), (spec,))


def premium_hold(
    *,
    id: str,
    institution: str,
    amount: int,
    timeout_s: int | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Posting:
    """A premium paid by a bidder, held for the institution until the guarantee is issued."""
    clearing, payable = chart.platform_premium_clearing(), chart.institution_payable(institution)
    spec: TransferSpec = {"id": id, "debit": clearing.code, "credit": payable.code,
                          "amount": _positive(amount), "code": "premium_hold", "pending": True,
                          "timeout_s": timeout_s, "meta": _meta(meta)}  # fmt: skip
    return Posting((clearing, payable), (spec,))


def premium_settle(
    *,
    id: str,
    hold_id: str,
    institution: str,
    premium: int,
    fee: int = 0,
    meta: Mapping[str, Any] | None = None,
) -> Posting:
    """The guarantee is issued: post the hold to the institution (premium minus the platform fee)
    and book the fee as revenue, atomically. ``premium`` must be the held amount."""
    _positive(premium)
    if type(fee) is not int or not 0 <= fee < premium:
        raise ValueError(f"fee must be an integer from 0 to below the premium: {fee!r}")
    clearing, payable = chart.platform_premium_clearing(), chart.institution_payable(institution)
    revenue = chart.platform_fee_revenue()
    specs: list[TransferSpec] = [
        {"id": f"{id}:institution", "pending_id": hold_id, "amount": premium - fee,
         "code": "premium_settle", "meta": _meta(meta)},
    ]  # fmt: skip
    if fee:
        specs.append(
            {"id": f"{id}:fee", "debit": clearing.code, "credit": revenue.code, "amount": fee,
             "code": "platform_fee", "meta": _meta(meta)}
        )  # fmt: skip
    return Posting((clearing, payable, revenue), tuple(specs))


def premium_refund(
    *,
    id: str,
    institution: str,
    uscc: str,
    amount: int,
    meta: Mapping[str, Any] | None = None,
) -> Posting:
    """A guarantee surrendered: the institution owes (part of) the premium back to the bidder."""
    payable, owed = chart.institution_payable(institution), chart.bidder_premium_refund(uscc)
    spec: TransferSpec = {"id": id, "debit": payable.code, "credit": owed.code, "amount": _positive(amount),
                          "code": "premium_refund", "meta": _meta(meta)}  # fmt: skip
    return Posting((payable, owed), (spec,))


def premium_refund_payout(
    *,
    id: str,
    uscc: str,
    amount: int,
    timeout_s: int | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Posting:
    """A premium refund sent to the bidder from the clearing account: a hold until confirmed."""
    owed, clearing = chart.bidder_premium_refund(uscc), chart.platform_premium_clearing()
    spec: TransferSpec = {"id": id, "debit": owed.code, "credit": clearing.code, "amount": _positive(amount),
                          "code": "premium_refund_payout", "pending": True, "timeout_s": timeout_s,
                          "meta": _meta(meta)}  # fmt: skip
    return Posting((owed, clearing), (spec,))


def settle(*, id: str, hold_id: str, amount: int | None = None) -> Posting:
    """The bank confirmed (or the statement matched) money on its way: post the hold."""
    return Posting((), ({"id": id, "pending_id": hold_id, "amount": amount},))


def cancel(*, id: str, hold_id: str) -> Posting:
    """The bank refused or the instruction failed: release the hold."""
    return Posting((), ({"id": id, "pending_id": hold_id, "void": True},))


def platform_fee_refund(*, id: str, uscc: str, amount: int, meta: Mapping[str, Any] | None = None) -> Posting:
    """A surrendered guarantee's platform fee given back: revenue reversed into the bidder's refund."""
    revenue, owed = chart.platform_fee_revenue(), chart.bidder_premium_refund(uscc)
    spec: TransferSpec = {"id": id, "debit": revenue.code, "credit": owed.code, "amount": _positive(amount),
                          "code": "platform_fee_refund", "meta": _meta(meta)}  # fmt: skip
    return Posting((revenue, owed), (spec,))
