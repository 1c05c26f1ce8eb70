"""Two-phase transfers: holds, full and partial posts, voids, expiry, each resolution at most once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ledger import Ledger, LedgerError, TransferKind

if TYPE_CHECKING:
    from tests.ledger.conftest import Clock

BANK = "center:C1:escrow_bank"
DEPOSIT = "bidder:X:deposit:S1"


@pytest.fixture
def funded(book: Ledger) -> Ledger:
    book.create_account(BANK, kind="asset", flags={"credits_must_not_exceed_debits"})
    book.create_account(DEPOSIT, kind="liability", flags={"debits_must_not_exceed_credits"})
    book.transfer(id="in", debit=BANK, credit=DEPOSIT, amount=1_000, code="deposit_received")
    return book


def hold(book: Ledger, hold_id: str = "h", amount: int = 600, timeout_s: int | None = 3600) -> None:
    book.transfer(id=hold_id, debit=DEPOSIT, credit=BANK, amount=amount, code="refund", pending=True,
                  timeout_s=timeout_s)  # fmt: skip


def test_partial_post_releases_the_rest(funded: Ledger) -> None:
    hold(funded)
    assert funded.balance(DEPOSIT).debits_pending == 600
    post = funded.post_pending(id="p", pending_id="h", amount=250)
    assert (post.kind, post.amount, post.pending_id) == (TransferKind.POST, 250, "h")
    balance = funded.balance(DEPOSIT)
    assert (balance.debits_posted, balance.debits_pending, balance.net) == (250, 0, 750)
    assert funded.check().clean


def test_full_post_and_replay_of_the_post(funded: Ledger) -> None:
    hold(funded)
    post = funded.post_pending(id="p", pending_id="h")
    assert post.amount == 600
    assert funded.post_pending(id="p", pending_id="h").replayed
    with pytest.raises(LedgerError) as refused:
        funded.post_pending(id="p", pending_id="h", amount=600)  # same id, different request
    assert refused.value.code == "exists_with_different_content"


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        ("post", "post", "pending_already_resolved"),
        ("post", "void", "pending_already_resolved"),
        ("void", "post", "pending_already_resolved"),
        ("void", "void", "pending_already_resolved"),
    ],
)
def test_a_hold_resolves_at_most_once(funded: Ledger, first: str, second: str, code: str) -> None:
    hold(funded)
    resolve = {"post": funded.post_pending, "void": funded.void_pending}
    resolve[first](id="r1", pending_id="h")
    with pytest.raises(LedgerError) as refused:
        resolve[second](id="r2", pending_id="h")
    assert refused.value.code == code
    assert funded.check().clean


def test_bad_resolutions_are_typed_and_write_nothing(funded: Ledger) -> None:
    hold(funded)
    cases = [
        ({"pending_id": "h", "amount": 601}, "exceeds_pending_amount"),
        ({"pending_id": "h", "amount": 0}, "invalid_amount"),
        ({"pending_id": "nope"}, "pending_not_found"),
        ({"pending_id": "in"}, "pending_not_found"),  # a posted transfer is not a hold
        ({"pending_id": "bad id"}, "invalid_id"),
    ]
    for kwargs, code in cases:
        with pytest.raises(LedgerError) as refused:
            funded.post_pending(id="p", **kwargs)  # type: ignore[arg-type]
        assert refused.value.code == code
    assert funded.get_transfer("p") is None
    assert funded.balance(DEPOSIT).debits_pending == 600


def test_expiry_sweep_voids_due_holds_and_expired_holds_cannot_be_posted(
    funded: Ledger, clock: Clock
) -> None:
    hold(funded, "h-short", 100, timeout_s=60)
    hold(funded, "h-long", 100, timeout_s=3600)
    hold(funded, "h-none", 100, timeout_s=None)
    clock.advance(30)
    assert funded.expire_pending(clock.now) == []
    clock.advance(31)
    with pytest.raises(LedgerError) as refused:
        funded.post_pending(id="late", pending_id="h-short")  # due, not yet swept
    assert refused.value.code == "pending_expired"
    expired = funded.expire_pending(clock.now)
    assert [(t.id, t.kind) for t in expired] == [("expired:h-short", TransferKind.EXPIRE)]
    assert funded.expire_pending(clock.now) == []
    for action in (funded.post_pending, funded.void_pending):
        with pytest.raises(LedgerError) as refused:
            action(id="late", pending_id="h-short")
        assert refused.value.code == "pending_expired"
    assert funded.balance(DEPOSIT).debits_pending == 200
    clock.advance(86_400 * 365)
    assert {t.pending_id for t in funded.expire_pending(clock.now)} == {"h-long"}
    assert funded.check().clean


def test_reversal_moves_the_amount_back_once(funded: Ledger) -> None:
    reversal = funded.reverse(id="undo", original_id="in")
    assert (reversal.debit, reversal.credit, reversal.amount) == (DEPOSIT, BANK, 1_000)
    assert funded.balance(BANK).net == 0
    for original_id, code in [("in", "already_reversed"), ("missing", "transfer_not_found")]:
        with pytest.raises(LedgerError) as refused:
            funded.reverse(id="undo-2", original_id=original_id)
        assert refused.value.code == code
    funded.transfer(id="in-2", debit=BANK, credit=DEPOSIT, amount=10, code="deposit_received")
    hold(funded, "h", 5)
    with pytest.raises(LedgerError) as refused:
        funded.reverse(id="undo-3", original_id="h")
    assert refused.value.code == "not_reversible"
    funded.transfer(id="out", debit=DEPOSIT, credit=BANK, amount=5, code="refund")
    with pytest.raises(LedgerError) as refused:  # the money is gone: reversing would overdraw the bank
        funded.reverse(id="undo-4", original_id="in-2")
    assert refused.value.code == "insufficient_funds"
    assert funded.check().clean


def test_hold_and_post_in_one_atomic_batch(funded: Ledger) -> None:
    done = funded.submit(
        [
            {"id": "h", "debit": DEPOSIT, "credit": BANK, "amount": 300, "code": "refund", "pending": True},
            {"id": "p", "pending_id": "h", "amount": 200},
        ]
    )
    assert [t.kind for t in done] == [TransferKind.PENDING, TransferKind.POST]
    assert funded.balance(DEPOSIT).net == 800
