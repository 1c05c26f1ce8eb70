"""`check()`: recompute everything from the entries and report every broken invariant.

Two streamed passes over a consistent snapshot (REPEATABLE READ on PostgreSQL, the single-writer
transaction on SQLite):

1. entries by account and sequence: sequence numbers without gaps, each entry's before/after totals
   follow from the previous entry and its own amounts, its link to the previous hash and (hash
   version 2) its own ``E2`` hash, the account's constraint after every entry, and at the end the
   account row's stored totals equal the sum of the entries and its stored chain head equals the
   last entry;
2. entries by transfer, joined to the transfer and the hold or original it refers to: each transfer's
   hash (``T2``, or for version 3 the node hash over the transfer and both of its entries, see
   `ledger.hashing`), exactly one debit and one credit entry on its two accounts with the amounts its
   kind implies (so debits equal credits), a post never above its hold, an expiry only after the
   timeout, a reversal that mirrors its original.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Row, func, select

from ledger import hashing, tables
from ledger.model import CheckReport, TransferKind, Violation
from ledger.posting import TransferRow, entry_deltas

_BATCH = 10_000
_MAX_VIOLATIONS = 1_000


@dataclass
class _Report:
    violations: list[Violation] = field(default_factory=list)
    truncated: int = 0

    def add(
        self, code: str, message: str, *, account: str | None = None, transfer: str | None = None
    ) -> None:
        if len(self.violations) < _MAX_VIOLATIONS:
            self.violations.append(Violation(code, message, account, transfer))
        else:
            self.truncated += 1


def _stream(c: Connection, query: Any) -> Iterator[Row[Any]]:
    result = c.execution_options(yield_per=_BATCH).execute(query)
    yield from result


def run_check(c: Connection, *, progress: Callable[[int, int], None] | None = None) -> CheckReport:
    report = _Report()
    e, t = tables.entries.c, tables.transfers.c
    n_entries = c.execute(select(func.count()).select_from(tables.entries)).scalar_one()
    n_transfers = c.execute(select(func.count()).select_from(tables.transfers)).scalar_one()
    accounts = {row.id: row for row in c.execute(select(tables.accounts))}
    codes = {row.id: row.code for row in accounts.values()}
    done = 0
    total_work = 2 * n_entries

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None and done % _BATCH == 0:
            progress(done, total_work)

    # ---- pass 1: per-account chains
    query = (
        select(tables.entries, t.hash.label("transfer_hash"))
        .join(tables.transfers, t.id == e.transfer_id)
        .order_by(e.account_id, e.account_seq)
    )
    sums = {"D": [0, 0], "C": [0, 0]}
    current: int | None = None
    prev: dict[str, Any] = {}

    def close(account_id: int | None) -> None:
        if account_id is None:
            return
        row = accounts[account_id]
        totals = (prev["dp_sum"], prev["cp_sum"], prev["dpe_sum"], prev["cpe_sum"])
        stored = (row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending)
        if totals != stored:
            report.add(
                "account_totals_mismatch", f"stored {stored}, entries sum to {totals}", account=row.code
            )
        if (prev["seq"], prev["hash"]) != (row.entry_seq, row.head_hash):
            report.add("chain_head_mismatch", f"account head is #{row.entry_seq}, last entry #{prev['seq']}",
                       account=row.code)  # fmt: skip

    seen_accounts: set[int] = set()
    for r in _stream(c, query):
        tick()
        if r.account_id != current:
            close(current)
            current = r.account_id
            seen_accounts.add(r.account_id)
            prev = {"seq": 0, "hash": hashing.GENESIS, "dp": 0, "cp": 0, "dpe": 0, "cpe": 0, "net": 0,
                    "dp_sum": 0, "cp_sum": 0, "dpe_sum": 0, "cpe_sum": 0}  # fmt: skip
        account = accounts.get(r.account_id)
        code = codes.get(r.account_id, f"#{r.account_id}")
        if account is None:
            report.add("entry_without_account", f"entry {r.id} names no account", transfer=r.transfer_id)
            continue
        if r.account_seq != prev["seq"] + 1:
            report.add("entry_sequence_gap", f"entry #{r.account_seq} follows #{prev['seq']}", account=code)
        if r.prev_hash != prev["hash"]:
            report.add("hash_chain_broken", f"entry #{r.account_seq} does not link to its predecessor",
                       account=code, transfer=r.transfer_id)  # fmt: skip
        # An entry carrying its transfer's hash is part of a version-3 node, verified in pass 2.
        if r.hash != r.transfer_hash:
            fields = {k: getattr(r, k) for k in _ENTRY_HASHED}
            digest = hashing.entry_hash(prev_hash=r.prev_hash, account=code, transfer_hash=r.transfer_hash,
                                        **fields)  # fmt: skip
            if digest != r.hash:
                report.add("entry_hash_mismatch", f"entry #{r.account_seq} does not match its hash",
                           account=code, transfer=r.transfer_id)  # fmt: skip
        expected = [prev["dp"], prev["cp"], prev["dpe"], prev["cpe"]]
        if r.side == "D":
            expected[0] += r.posted
            expected[2] += r.pending
            prev["dp_sum"] += r.posted
            prev["dpe_sum"] += r.pending
        else:
            expected[1] += r.posted
            expected[3] += r.pending
            prev["cp_sum"] += r.posted
            prev["cpe_sum"] += r.pending
        side_sums = sums.get(r.side)
        if side_sums is None:
            report.add("entry_side_invalid", f"entry #{r.account_seq} has side {r.side!r}", account=code)
        else:
            side_sums[0] += r.posted
            side_sums[1] += r.pending
        after = [r.debits_posted, r.credits_posted, r.debits_pending, r.credits_pending]
        net_before = _net(account.kind, prev["dp"], prev["cp"])
        net_after = _net(account.kind, r.debits_posted, r.credits_posted)
        if after != expected or (r.balance_before, r.balance_after) != (net_before, net_after):
            report.add("entry_balance_mismatch",
                       f"entry #{r.account_seq}: before/after totals do not follow from its amounts",
                       account=code, transfer=r.transfer_id)  # fmt: skip
        dp, cp, dpe, cpe = after
        if min(after) < 0:
            report.add("negative_total", f"entry #{r.account_seq} leaves a negative total", account=code)
        if account.debits_must_not_exceed_credits and dp + dpe > cp:
            report.add(
                "constraint_violated", f"after entry #{r.account_seq} debits exceed credits", account=code
            )
        if account.credits_must_not_exceed_debits and cp + cpe > dp:
            report.add(
                "constraint_violated", f"after entry #{r.account_seq} credits exceed debits", account=code
            )
        prev.update(seq=r.account_seq, hash=r.hash, dp=dp, cp=cp, dpe=dpe, cpe=cpe)
    close(current)
    for account_id, row in accounts.items():
        totals = (row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending)
        empty = row.entry_seq == 0 and row.head_hash == hashing.GENESIS and totals == (0, 0, 0, 0)
        if account_id not in seen_accounts and not empty:
            report.add("account_totals_mismatch", "account has totals but no entries", account=row.code)
    if sums["D"] != sums["C"]:
        report.add("ledger_unbalanced", f"debits (posted, pending) {sums['D']} != credits {sums['C']}")

    # ---- pass 2: per-transfer
    hold = tables.transfers.alias("hold")
    original = tables.transfers.alias("original")
    query = (
        select(
            tables.transfers,
            e.side,
            e.account_id,
            e.account_seq,
            e.posted,
            e.pending,
            e.balance_before,
            e.balance_after,
            e.debits_posted.label("e_debits_posted"),
            e.credits_posted.label("e_credits_posted"),
            e.debits_pending.label("e_debits_pending"),
            e.credits_pending.label("e_credits_pending"),
            e.created_at.label("e_created_at"),
            e.prev_hash.label("e_prev_hash"),
            e.hash.label("e_hash"),
            hold.c.kind.label("hold_kind"),
            hold.c.amount.label("hold_amount"),
            hold.c.debit_account.label("hold_debit"),
            hold.c.credit_account.label("hold_credit"),
            hold.c.timeout_at.label("hold_timeout_at"),
            original.c.kind.label("original_kind"),
            original.c.amount.label("original_amount"),
            original.c.debit_account.label("original_debit"),
            original.c.credit_account.label("original_credit"),
        )
        .select_from(tables.transfers)
        .outerjoin(tables.entries, e.transfer_id == t.id)
        .outerjoin(hold, hold.c.id == t.pending_id)
        .outerjoin(original, original.c.id == t.reverses_id)
        .order_by(t.id, e.side)
    )
    group: list[Row[Any]] = []
    for r in _stream(c, query):
        tick()
        if group and group[0].id != r.id:
            _check_transfer(group, codes, report)
            group = []
        group.append(r)
    if group:
        _check_transfer(group, codes, report)

    if progress is not None:
        progress(total_work, total_work)
    violations = report.violations
    if report.truncated:
        violations.append(Violation("truncated", f"{report.truncated} more violations not listed"))
    return CheckReport(len(accounts), n_transfers, n_entries, tuple(violations))


_ENTRY_HASHED = (
    "account_seq",
    "side",
    "posted",
    "pending",
    "balance_before",
    "balance_after",
    "debits_posted",
    "credits_posted",
    "debits_pending",
    "credits_pending",
    "created_at",
)


def _net(kind: str, debits_posted: int, credits_posted: int) -> int:
    if kind in ("asset", "expense"):
        return debits_posted - credits_posted
    return credits_posted - debits_posted


def _check_transfer(group: list[Row[Any]], codes: dict[int, str], report: _Report) -> None:
    r = group[0]
    tid = r.id
    try:
        row = TransferRow(
            id=r.id, kind=TransferKind(r.kind),
            debit_account=r.debit_account, credit_account=r.credit_account,
            amount=r.amount, currency=r.currency, code=r.code, meta=r.meta, pending_id=r.pending_id,
            reverses_id=r.reverses_id, timeout_at=r.timeout_at, created_at=r.created_at,
            request_hash=r.request_hash, hash=r.hash,
        )  # fmt: skip
    except ValueError:
        report.add("transfer_invalid", f"unknown kind {r.kind!r}", transfer=tid)
        return
    entries = [g for g in group if g.side is not None]
    if any(g.e_hash == row.hash for g in entries):
        _check_node(row, entries, codes, report)
    elif row.expected_hash() != row.hash:
        report.add("transfer_hash_mismatch", "the transfer's columns do not match its hash", transfer=tid)
    hold_amount: int | None = None
    if row.kind in (TransferKind.POST, TransferKind.VOID, TransferKind.EXPIRE):
        if r.hold_kind != TransferKind.PENDING.value:
            report.add("pending_invalid", f"resolves {row.pending_id!r}, which is not a hold", transfer=tid)
            return
        hold_amount = r.hold_amount
        if (r.hold_debit, r.hold_credit) != (row.debit_account, row.credit_account):
            report.add("pending_invalid", "accounts differ from the hold's", transfer=tid)
        if row.kind is TransferKind.POST and row.amount > r.hold_amount:
            report.add("pending_invalid", f"posts {row.amount} from a hold of {r.hold_amount}", transfer=tid)
        if row.kind is not TransferKind.POST and row.amount != r.hold_amount:
            report.add("pending_invalid", "a void must release the whole hold", transfer=tid)
        if row.kind is TransferKind.EXPIRE and (
            r.hold_timeout_at is None or r.hold_timeout_at > row.created_at
        ):
            report.add("pending_invalid", "expired before its timeout", transfer=tid)
    elif row.pending_id is not None:
        report.add("transfer_invalid", "only a post, void or expiry names a hold", transfer=tid)
    if row.kind is TransferKind.REVERSAL:
        if r.original_kind not in ("posted", "post", "reversal"):
            report.add(
                "reversal_invalid", f"reverses {row.reverses_id!r}, not a posted transfer", transfer=tid
            )
        elif (r.original_credit, r.original_debit, r.original_amount) != (
            row.debit_account, row.credit_account, row.amount
        ):  # fmt: skip
            report.add("reversal_invalid", "does not mirror the transfer it reverses", transfer=tid)
    elif row.reverses_id is not None:
        report.add("transfer_invalid", "only a reversal names an original", transfer=tid)
    posted, pending = entry_deltas(row, hold_amount)
    expected = [("C", row.credit_account, posted, pending), ("D", row.debit_account, posted, pending)]
    found = [(g.side, codes.get(g.account_id), g.posted, g.pending) for g in entries]
    if sorted(found, key=str) != sorted(expected, key=str):
        report.add("transfer_entries_mismatch", f"entries {found} where {expected} were due", transfer=tid)


def _check_node(row: TransferRow, entries: list[Row[Any]], codes: dict[int, str], report: _Report) -> None:
    """A version-3 node (`hashing.node_hash`): the transfer and both entries carry one hash, which
    must be the SM3 of all three rows. A mismatch cannot say which row changed, so all are named."""
    debit_side = [g for g in entries if g.side == "D"]
    credit_side = [g for g in entries if g.side == "C"]
    valid = len(debit_side) == 1 and len(credit_side) == 1 and all(g.e_hash == row.hash for g in entries)
    if valid:
        transfer = row._asdict()
        del transfer["hash"]
        transfer["kind"] = row.kind.value
        digest = hashing.node_hash(**transfer, debit=_node_entry(debit_side[0], codes),
                                   credit=_node_entry(credit_side[0], codes))  # fmt: skip
        valid = digest == row.hash
    if valid:
        return
    report.add("transfer_hash_mismatch", "the transfer and its entries do not match their node hash",
               transfer=row.id)  # fmt: skip
    for g in entries:
        report.add("entry_hash_mismatch", f"entry #{g.account_seq} does not match its transfer's node hash",
                   account=codes.get(g.account_id, f"#{g.account_id}"), transfer=row.id)  # fmt: skip


def _node_entry(g: Row[Any], codes: dict[int, str]) -> hashing.NodeEntry:
    return hashing.NodeEntry(
        account=codes.get(g.account_id, f"#{g.account_id}"), account_seq=g.account_seq, side=g.side,
        posted=g.posted, pending=g.pending, balance_before=g.balance_before, balance_after=g.balance_after,
        debits_posted=g.e_debits_posted, credits_posted=g.e_credits_posted,
        debits_pending=g.e_debits_pending, credits_pending=g.e_credits_pending, created_at=g.e_created_at,
        prev_hash=g.e_prev_hash,
    )  # fmt: skip
