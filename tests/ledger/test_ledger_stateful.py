"""The ledger against a small in-memory model (hypothesis stateful), on SQLite and PostgreSQL.

After every step: every balance equals the model's, check() is clean (all invariants, hash chains),
and a refused step - with the same error code the model predicts - changed nothing.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, text

from ledger import Ledger, LedgerError, open_ledger, tables

LEDGER_TABLES = ("ledger_entries", "ledger_transfers", "ledger_accounts")
CODES = ["a:cash", "b:cash", "c:owed", "d:owed", "e:rev", "f:usd", "zz:missing"]
IDS = [f"t{i}" for i in range(12)]
KINDS = ["asset", "liability", "revenue", "expense", "equity"]
FLAGS: list[frozenset[str]] = [
    frozenset(),
    frozenset({"debits_must_not_exceed_credits"}),
    frozenset({"credits_must_not_exceed_debits"}),
]
STATEFUL_EXAMPLES = int(os.environ.get("LEDGER_STATEFUL_EXAMPLES", "40"))
amounts = st.one_of(st.integers(1, 500), st.sampled_from([0, -1, 10_000]))


@dataclass
class MAccount:
    kind: str
    flags: frozenset[str]
    currency: str
    totals: tuple[int, int, int, int] = (0, 0, 0, 0)  # debits/credits posted, debits/credits pending


@dataclass
class MTransfer:
    request: tuple[Any, ...]
    kind: str
    debit: str
    credit: str
    amount: int
    timeout_at: datetime | None = None


@dataclass
class Model:
    accounts: dict[str, MAccount] = field(default_factory=dict)
    transfers: dict[str, MTransfer] = field(default_factory=dict)
    resolutions: dict[str, str] = field(default_factory=dict)  # hold -> post/void/expire
    reversed: set[str] = field(default_factory=set)

    def copy(self) -> Model:
        return Model(dict(self.accounts), dict(self.transfers), dict(self.resolutions), set(self.reversed))

    def move(self, debit: str, credit: str, posted: int, pending: int) -> None:
        """Apply a transfer's deltas, or raise insufficient_funds and change nothing."""
        d, c = self.accounts[debit], self.accounts[credit]
        new_d = (d.totals[0] + posted, d.totals[1], d.totals[2] + pending, d.totals[3])
        new_c = (c.totals[0], c.totals[1] + posted, c.totals[2], c.totals[3] + pending)
        for account, totals in ((d, new_d), (c, new_c)):
            dp, cp, dpe, cpe = totals
            if "debits_must_not_exceed_credits" in account.flags and dp + dpe > cp:
                raise Refused("insufficient_funds")
            if "credits_must_not_exceed_debits" in account.flags and cp + cpe > dp:
                raise Refused("insufficient_funds")
        self.accounts[debit] = replace(d, totals=new_d)
        self.accounts[credit] = replace(c, totals=new_c)


class Refused(Exception):
    """The model's prediction of a LedgerError."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def validate(spec: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """What needs no state; the ledger checks this for every item of a batch before applying any."""
    amount: Any = spec.get("amount")
    if "pending_id" in spec:
        action = "void" if spec.get("void") else "post"
        if amount is not None and amount <= 0:
            raise Refused("invalid_amount")
        return action, (action, spec["pending_id"], amount)
    if "original_id" in spec:
        return "reverse", ("reverse", spec["original_id"])
    if amount <= 0:
        raise Refused("invalid_amount")
    if spec["debit"] == spec["credit"]:
        raise Refused("accounts_must_be_different")
    return "transfer", (
        "transfer",
        spec["debit"],
        spec["credit"],
        amount,
        spec["pending"],
        spec.get("timeout_s"),
    )


def predict(model: Model, spec: dict[str, Any], now: datetime) -> Model:
    """The model's answer to one submit() item: the next model, or Refused(code)."""
    m = model.copy()
    tid = spec["id"]
    amount: Any = spec.get("amount")
    action, request = validate(spec)
    if tid in m.transfers:
        if m.transfers[tid].request == request:
            return m
        raise Refused("exists_with_different_content")
    if action == "transfer":
        debit, credit = m.accounts.get(spec["debit"]), m.accounts.get(spec["credit"])
        if debit is None or credit is None:
            raise Refused("account_not_found")
        if debit.currency != credit.currency:
            raise Refused("currency_mismatch")
        pending = spec["pending"]
        m.move(spec["debit"], spec["credit"], 0 if pending else amount, amount if pending else 0)
        timeout = spec.get("timeout_s")
        timeout_at = now + timedelta(seconds=timeout) if timeout else None
        kind = "pending" if pending else "posted"
        m.transfers[tid] = MTransfer(request, kind, spec["debit"], spec["credit"], amount, timeout_at)
    elif action == "reverse":
        original = m.transfers.get(spec["original_id"])
        if original is None:
            raise Refused("transfer_not_found")
        if original.kind not in ("posted", "post", "reversal"):
            raise Refused("not_reversible")
        if spec["original_id"] in m.reversed:
            raise Refused("already_reversed")
        m.move(original.credit, original.debit, original.amount, 0)
        m.transfers[tid] = MTransfer(request, "reversal", original.credit, original.debit, original.amount)
        m.reversed.add(spec["original_id"])
    else:
        hold = m.transfers.get(spec["pending_id"])
        if hold is None or hold.kind != "pending":
            raise Refused("pending_not_found")
        done = m.resolutions.get(spec["pending_id"])
        if done == "expire":
            raise Refused("pending_expired")
        if done is not None:
            raise Refused("pending_already_resolved")
        if hold.timeout_at is not None and hold.timeout_at <= now:
            raise Refused("pending_expired")
        posted = 0
        if action == "post":
            posted = hold.amount if amount is None else amount
            if posted > hold.amount:
                raise Refused("exceeds_pending_amount")
        m.move(hold.debit, hold.credit, posted, -hold.amount)
        m.transfers[tid] = MTransfer(request, action, hold.debit, hold.credit, posted or hold.amount)
        m.resolutions[spec["pending_id"]] = action
    return m


def footprint(book: Ledger) -> tuple[Any, ...]:
    with book.engine.connect() as c:
        counts = tuple(
            c.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (tables.transfers, tables.entries)
        )
        rows = tuple(tuple(r) for r in c.execute(select(tables.accounts).order_by(tables.accounts.c.code)))
    return counts, rows


def machine(new_book: Any) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.now = datetime(2026, 1, 1, tzinfo=UTC)
            self.book: Ledger = new_book(lambda: self.now)
            self.model = Model()
            self.sent: list[dict[str, Any]] = []

        def teardown(self) -> None:
            self.book.engine.dispose()

        def _submit(self, specs: list[dict[str, Any]]) -> None:
            predicted: Model | Refused = self.model
            try:
                for spec in specs:
                    validate(spec)
                for spec in specs:
                    assert isinstance(predicted, Model)
                    predicted = predict(predicted, spec, self.now)
            except Refused as refusal:
                predicted = refusal
            before = footprint(self.book)
            try:
                self.book.submit(specs)  # type: ignore[arg-type]
            except LedgerError as error:
                assert isinstance(predicted, Refused), f"ledger refused {error!r}, model accepted"  # noqa: PT017
                assert error.code == predicted.code, (error, predicted.code)  # noqa: PT017
                assert footprint(self.book) == before, "a refused step changed the database"
                return
            assert isinstance(predicted, Model), f"model refused with {predicted.code}, ledger accepted"
            self.model = predicted
            self.sent += specs

        @rule(code=st.sampled_from(CODES[:-1]), kind=st.sampled_from(KINDS), flags=st.sampled_from(FLAGS))
        def create_account(self, code: str, kind: str, flags: frozenset[str]) -> None:
            currency = "USD" if code == "f:usd" else "CNY"
            existing = self.model.accounts.get(code)
            try:
                self.book.create_account(code, kind=kind, flags=flags, currency=currency)
            except LedgerError as error:
                assert existing is not None
                assert (existing.kind, existing.flags) != (kind, flags)
                assert error.code == "account_exists_with_different_content"  # noqa: PT017
                return
            assert existing is None or (existing.kind, existing.flags) == (kind, flags)
            if existing is None:
                self.model.accounts[code] = MAccount(kind, flags, currency)

        @rule(tid=st.sampled_from(IDS), debit=st.sampled_from(CODES), credit=st.sampled_from(CODES),
              amount=amounts, pending=st.booleans(), timeout_s=st.sampled_from([None, 60, 3600]))  # fmt: skip
        def transfer(
            self, tid: str, debit: str, credit: str, amount: int, pending: bool, timeout_s: int | None
        ) -> None:
            spec = {
                "id": tid,
                "debit": debit,
                "credit": credit,
                "amount": amount,
                "code": "x",
                "pending": pending,
            }
            if pending and timeout_s:
                spec["timeout_s"] = timeout_s
            self._submit([spec])

        @rule(tid=st.sampled_from(IDS), hold=st.sampled_from(IDS), amount=st.one_of(st.none(), amounts))
        def post(self, tid: str, hold: str, amount: int | None) -> None:
            self._submit([{"id": tid, "pending_id": hold, "amount": amount}])

        @rule(tid=st.sampled_from(IDS), hold=st.sampled_from(IDS))
        def void(self, tid: str, hold: str) -> None:
            self._submit([{"id": tid, "pending_id": hold, "void": True}])

        @rule(tid=st.sampled_from(IDS), original=st.sampled_from(IDS))
        def reverse(self, tid: str, original: str) -> None:
            self._submit([{"id": tid, "original_id": original}])

        @rule(data=st.data())
        def replay(self, data: st.DataObject) -> None:
            if self.sent:
                self._submit([data.draw(st.sampled_from(self.sent))])

        @rule(ids=st.lists(st.sampled_from(IDS), min_size=2, max_size=3),
              pairs=st.lists(st.tuples(st.sampled_from(CODES[:5]), st.sampled_from(CODES[:5])), min_size=3,
                             max_size=3),
              amount=amounts)  # fmt: skip
        def atomic_batch(self, ids: list[str], pairs: list[tuple[str, str]], amount: int) -> None:
            specs = [
                {"id": tid, "debit": d, "credit": c, "amount": amount, "code": "x", "pending": False}
                for tid, (d, c) in zip(ids, pairs, strict=False)
            ]
            self._submit(specs)

        @rule(seconds=st.sampled_from([30, 61, 3601]))
        def expire(self, seconds: int) -> None:
            self.now += timedelta(seconds=seconds)
            due = sorted(
                hold_id for hold_id, t in self.model.transfers.items()
                if t.kind == "pending" and hold_id not in self.model.resolutions
                and t.timeout_at is not None and t.timeout_at <= self.now
            )  # fmt: skip
            voided = self.book.expire_pending(self.now)
            assert sorted(t.pending_id or "" for t in voided) == due
            for hold_id in due:
                hold = self.model.transfers[hold_id]
                self.model.move(hold.debit, hold.credit, 0, -hold.amount)
                self.model.resolutions[hold_id] = "expire"
                self.model.transfers["expired:" + hold_id] = MTransfer(("expire",), "expire", hold.debit,
                                                                       hold.credit, hold.amount)  # fmt: skip

        @invariant()
        def balances_match_the_model_and_check_is_clean(self) -> None:
            for code, account in self.model.accounts.items():
                b = self.book.balance(code)
                assert (
                    b.debits_posted,
                    b.credits_posted,
                    b.debits_pending,
                    b.credits_pending,
                ) == account.totals
            report = self.book.check()
            assert report.clean, report.violations
            assert report.transfers == len(self.model.transfers)

    return LedgerMachine


def test_ledger_matches_the_model_and_every_invariant_holds(database_url: str, tmp_path: Path) -> None:
    counter = itertools.count()

    def new_book(clock: Any) -> Ledger:
        if database_url.startswith("sqlite"):
            return open_ledger(f"sqlite:///{tmp_path}/model-{next(counter)}.db", clock=clock)
        book = open_ledger(database_url, clock=clock)
        with book.engine.begin() as c:
            c.execute(text(f"TRUNCATE {', '.join(LEDGER_TABLES)} RESTART IDENTITY CASCADE"))
        return book

    run_state_machine_as_test(
        machine(new_book),
        settings=settings(
            # PostgreSQL round trips cost more; SQLite explores further.
            max_examples=STATEFUL_EXAMPLES if database_url.startswith("sqlite") else STATEFUL_EXAMPLES // 2,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
