"""Reconciliation matching: bank statement lines of the escrow account against expected ledger items.

Pure functions over immutable inputs; the caller loads lines and open items, calls `reconcile`, and
records the matches. Rules, applied in this order, each only to what the earlier rules left:

1. ``reference``: the line's bank or customer reference equals an item's `bank_reference` (same
   direction and currency). One item of the same amount is a one-to-one match; otherwise, when the
   open items carrying that reference add up to the line, the line settles all of them.
2. ``amount_counterparty_date``: same direction, currency, amount and counterparty account, with the
   line's value date within `drift_days` calendar days of the item's expected date. Among several
   candidates the nearest date wins, then the earlier date, then the smaller item id.
3. ``group``: within one counterparty account, direction and currency and the same date window,
   first one line settling 2..`max_group` items (a bidder's deposits for several sections paid in
   one transfer), then 2..`max_group` lines settling one item (a refund paid out in several
   transfers). The bound: a group has at most `max_group` (5) members drawn from the
   `group_candidates` (12) candidates nearest in date, so one search tries at most
   C(12,2)+…+C(12,5) = 1,573 subsets. Tie-break: the smallest group wins; among groups of one size,
   the first in lexicographic order of the candidates sorted by (distance in days, date, id).

Determinism: lines are processed in (value date, key) order and items in (expected date, id) order,
whatever order they were passed in; each rule is greedy in that order. The same inputs always give
the same matches.

Never twice: items whose id is in `matched_item_ids` and lines whose `key` is in `matched_line_keys`
(matched by an earlier run) are left out, and a line that appears twice in one run (the same
statement imported twice) is matched at most once, so re-importing a statement matches nothing again.
Reversal lines (MT940 RC/RD, CAMT RvslInd, a CSV 退汇/冲正) are matched only by the ``returned`` rule
(run first): a returned refund, the reversal carrying the reference of an open item in the opposite
direction and of its amount; the item (a pending refund) is then voided, not posted. Anything else
reversed needs an operator. Rule 1 also matches many-to-one: several open lines carrying one
reference (a payment the bank split) adding up to the open items with that reference.
The counterparty name is carried for reports but not matched on: banks spell names inconsistently
(全角/半角 brackets, truncation), accounts they report exactly. Partial settlement (lines adding up
to less than an item) is not a match; the item stays open.

Cost: dict indexes keyed by reference, by (direction, currency, counterparty, amount) and by
(direction, currency, counterparty), each list sorted by date and searched by bisection, so the work
is O((lines + items) log) plus the bounded group searches for what is left after rules 1 and 2.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar, Literal

from contracts.statements import Direction, Statement, StatementLine
from gateway.errors import GatewayError

MatchRule = Literal["reference", "returned", "amount_counterparty_date", "group"]


class MatchingError(GatewayError):
    code: ClassVar[str] = "invalid_matching_input"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Reconciliation inputs are inconsistent"


@dataclass(frozen=True, slots=True)
class AccountLine:
    """A statement line and the account whose statement it is on."""

    account: str
    line: StatementLine
    # Computed once (at a million lines, building it on every use was a visible share of a run).
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        """The key is stable across imports of the same statement: the bank's reference when it
        gives one, otherwise the line's place in its file."""
        line = self.line
        head = f"{self.account}|{line.value_date.isoformat()}|{line.direction}|{line.amount_minor}"
        tail = f"ref:{line.bank_reference}" if line.bank_reference else f"at:{line.source_location}"
        object.__setattr__(self, "key", f"{head}|{tail}")


def statement_lines(statement: Statement) -> tuple[AccountLine, ...]:
    return tuple(AccountLine(statement.account, line) for line in statement.lines)


@dataclass(frozen=True, slots=True)
class LedgerItem:
    """A movement the ledger expects on the escrow account: a deposit in (credit) or a refund out (debit)."""

    item_id: str
    amount_minor: int
    direction: Direction
    counterparty_account: str
    counterparty_name: str
    expected_date: date
    bank_reference: str | None = None
    currency: str = "CNY"

    def __post_init__(self) -> None:
        amount = self.amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise MatchingError(f"ledger item {self.item_id}: an amount is an int > 0, got {amount!r}")
        if self.direction not in ("credit", "debit"):
            raise MatchingError(f"ledger item {self.item_id}: direction is credit or debit")


@dataclass(frozen=True, slots=True)
class Match:
    rule: MatchRule
    lines: tuple[AccountLine, ...]
    items: tuple[LedgerItem, ...]

    @property
    def line_keys(self) -> tuple[str, ...]:
        return tuple(line.key for line in self.lines)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.item_id for item in self.items)


@dataclass(frozen=True, slots=True)
class MatchingRules:
    drift_days: int = 3
    max_group: int = 5
    group_candidates: int = 12

    def __post_init__(self) -> None:
        if self.drift_days < 0 or not 2 <= self.max_group <= self.group_candidates <= 20:
            raise MatchingError("need drift_days >= 0 and 2 <= max_group <= group_candidates <= 20")


@dataclass(frozen=True, slots=True)
class Reconciliation:
    matches: tuple[Match, ...]
    unmatched_lines: tuple[AccountLine, ...]
    unmatched_items: tuple[LedgerItem, ...]


def reconcile(
    lines: Iterable[AccountLine],
    items: Iterable[LedgerItem],
    *,
    matched_item_ids: Set[str] = frozenset(),
    matched_line_keys: Set[str] = frozenset(),
    rules: MatchingRules = MatchingRules(),
) -> Reconciliation:
    return reconcile_positions(
        lines, items, matched_item_ids=matched_item_ids, matched_line_keys=matched_line_keys, rules=rules
    ).reconciliation()


@dataclass(frozen=True, slots=True)
class Positions:
    """What `reconcile` finds, by position, for a caller that stores a million matches and needs no
    `Match` object for each: `found` holds (rule, line positions, item positions) into `lines` and
    `items` (both in matching order); `line_given[i]` is where line i was in the caller's input;
    `line_state[i]` / `item_state[j]` are 1 when matched."""

    lines: list[AccountLine]
    items: list[LedgerItem]
    found: list[tuple[MatchRule, Sequence[int], Sequence[int]]]
    line_given: list[int]
    line_state: bytearray
    item_state: bytearray

    def reconciliation(self) -> Reconciliation:
        lines, items = self.lines, self.items
        matches = tuple(
            Match(rule, (lines[at_lines[0]],), (items[at_items[0]],))
            if len(at_lines) == 1 and len(at_items) == 1
            else Match(
                rule, tuple(lines[i] for i in sorted(at_lines)), tuple(items[j] for j in sorted(at_items))
            )
            for rule, at_lines, at_items in self.found
        )
        return Reconciliation(
            matches=matches,
            unmatched_lines=tuple(
                line for line, used in zip(lines, self.line_state, strict=True) if used != 1
            ),
            unmatched_items=tuple(
                item for item, used in zip(items, self.item_state, strict=True) if not used
            ),
        )


def reconcile_positions(
    lines: Iterable[AccountLine],
    items: Iterable[LedgerItem],
    *,
    matched_item_ids: Set[str] = frozenset(),
    matched_line_keys: Set[str] = frozenset(),
    rules: MatchingRules = MatchingRules(),
    uncontested_first: bool = False,
) -> Positions:
    """`reconcile`, the matches by position (the same matches, in the same order).

    `uncontested_first`: the same matches, not in the same order. First, in input order, every line
    that is not a reversal, whose references (bank and customer) no other line carries, and whose
    bank reference names exactly one item of its direction and currency, of the line's amount, is
    matched to that item ("reference"): rule 1 would match exactly that pair whatever the order.
    No other line can reach the item (items are found by reference only, in rule 1 and, through a
    reversal carrying the reference, in the returned rule), and the only rule before rule 1, the
    returned rule, takes a line only as the payout of a reversal carrying one of its references.
    Those pairs come first in `found`; the rules then run as always on what is left (at a million
    lines, the sort into matching order and the walk over it were most of the run)."""
    given = list(lines)
    open_items = list(items)
    if not uncontested_first or matched_item_ids or matched_line_keys:
        return _Matcher(given, open_items, matched_item_ids, matched_line_keys, rules).run()
    at_lines, at_items = _uncontested(given, open_items)
    if not at_lines:
        return _Matcher(given, open_items, matched_item_ids, matched_line_keys, rules).run()
    taken_lines, taken_items = set(at_lines), set(at_items)
    rest_given = [k for k in range(len(given)) if k not in taken_lines]
    rest_items = [open_items[j] for j in range(len(open_items)) if j not in taken_items]
    rest = _Matcher([given[k] for k in rest_given], rest_items, frozenset(), frozenset(), rules).run()
    first = len(at_lines)
    found: list[tuple[MatchRule, Sequence[int], Sequence[int]]] = [
        ("reference", (k,), (k,)) for k in range(first)
    ]
    found.extend(
        (rule, tuple(first + i for i in lines_at), tuple(first + j for j in items_at))
        for rule, lines_at, items_at in rest.found
    )
    return Positions(
        lines=[given[k] for k in at_lines] + rest.lines,
        items=[open_items[j] for j in at_items] + rest.items,
        found=found,
        line_given=at_lines + [rest_given[k] for k in rest.line_given],
        line_state=bytearray(b"\x01" * first) + rest.line_state,
        item_state=bytearray(b"\x01" * first) + rest.item_state,
    )


def _uncontested(lines: Sequence[AccountLine], items: Sequence[LedgerItem]) -> tuple[list[int], list[int]]:
    """(line positions, item positions) of the uncontested reference pairs (`reconcile_positions`),
    each list in input order of the lines. Reads every column in input order (see `_Matcher`)."""
    seen_ids: set[str] = set()
    single: dict[tuple[str, str], int] = {}  # (reference, flow) -> the one item carrying it, or -1
    for j, item in enumerate(items):
        if item.item_id in seen_ids:
            raise MatchingError(f"ledger item {item.item_id} is given twice")
        seen_ids.add(item.item_id)
        if item.bank_reference:
            key = (item.bank_reference, f"{item.direction} {item.currency}")
            single[key] = -1 if key in single else j
    statement = [line.line for line in lines]
    bank_refs = [line.bank_reference for line in statement]
    carried: dict[str, int] = {}  # reference -> how many times lines carry it
    for reference in bank_refs:
        if reference:
            carried[reference] = carried.get(reference, 0) + 1
    for reference in [line.customer_reference for line in statement]:
        if reference:
            carried[reference] = carried.get(reference, 0) + 1
    at_lines: list[int] = []
    at_items: list[int] = []
    for k, reference in enumerate(bank_refs):
        if not reference or carried[reference] != 1:
            continue
        line = statement[k]
        if line.customer_reference and carried[line.customer_reference] != 1:
            continue  # a reversal carrying it could take this line as its payout (the returned rule)
        j = single.get((reference, f"{line.direction} {line.currency}"), -1)
        if j >= 0 and items[j].amount_minor == line.amount_minor and not line.is_reversal:
            at_lines.append(k)
            at_items.append(j)
    return at_lines, at_items


def _item_order(item: LedgerItem) -> tuple[date, str]:
    return (item.expected_date, item.item_id)


# Bucket of one side: parallel lists of date ordinals and indexes into that side, sorted by date.
_Bucket = tuple[list[int], list[int]]


class _Matcher:
    # The loops below read plain lists prepared once (dates as ordinals, "direction currency" flows,
    # compact counterparty accounts): at a million lines, attribute access is most of the cost.
    def __init__(
        self,
        lines: Iterable[AccountLine],
        items: Iterable[LedgerItem],
        matched_item_ids: Set[str],
        matched_line_keys: Set[str],
        rules: MatchingRules,
    ) -> None:
        self.rules = rules
        self.drift = rules.drift_days
        # Every column is read in the order the objects were made, then permuted into matching
        # order: reading a million objects' attributes in a shuffled order costs several times more
        # (each one a cache miss), permuting lists of small values does not.
        seen_ids: set[str] = set()
        open_items: list[LedgerItem] = []
        for item in items:
            item_id = item.item_id
            if item_id in seen_ids:
                raise MatchingError(f"ledger item {item_id} is given twice")
            seen_ids.add(item_id)
            if item_id not in matched_item_ids:
                open_items.append(item)
        item_days = [item.expected_date.toordinal() for item in open_items]
        item_ids = [item.item_id for item in open_items]
        by_date = sorted(range(len(open_items)), key=item_ids.__getitem__)
        by_date.sort(key=item_days.__getitem__)  # stable: (expected date, id)
        self.items = [open_items[k] for k in by_date]
        self.item_day = [item_days[k] for k in by_date]
        amounts = [item.amount_minor for item in open_items]
        self.item_amount = [amounts[k] for k in by_date]
        flows = [f"{item.direction} {item.currency}" for item in open_items]
        self.item_flow = [flows[k] for k in by_date]
        parties = _account_keys([item.counterparty_account for item in open_items])
        self.item_party = [parties[k] for k in by_date]
        self.item_used = bytearray(len(open_items))

        given = list(lines)
        given_keys = [line.key for line in given]
        statement = [line.line for line in given]
        given_days = [line.value_date.toordinal() for line in statement]
        order = [k for k in range(len(given)) if given_keys[k] not in matched_line_keys]
        order.sort(key=given_keys.__getitem__)
        order.sort(key=given_days.__getitem__)  # stable: (value date, key)
        self.given = order
        self.lines = [given[k] for k in order]
        self.keys = [given_keys[k] for k in order]
        self.line_day = [given_days[k] for k in order]
        amounts = [line.amount_minor for line in statement]
        self.line_amount = [amounts[k] for k in order]
        flows = [f"{line.direction} {line.currency}" for line in statement]
        self.line_flow = [flows[k] for k in order]
        parties = _account_keys([line.counterparty_account for line in statement])
        self.line_party = [parties[k] for k in order]
        references = [line.bank_reference for line in statement]
        self.line_bank_ref = [references[k] for k in order]
        references = [line.customer_reference for line in statement]
        self.line_customer_ref = [references[k] for k in order]
        # 1 = matched; 2 = takes no part (a repeat of a key already seen in this run); 3 = a reversal,
        # which only the "returned" rule may match. Repeats have equal (date, key), and the stable
        # sort keeps them in input order, so the first in input order is the first in matching order.
        state = bytearray(len(given))
        seen_keys: set[str] = set()
        for k, key in enumerate(given_keys):
            if key in seen_keys:
                state[k] = 2
            elif statement[k].is_reversal:
                state[k] = 3
            seen_keys.add(key)
        self.line_used = bytearray(state[k] for k in order)
        self.found: list[tuple[MatchRule, Sequence[int], Sequence[int]]] = []
        self._by_ref: dict[tuple[str, str], list[int]] | None = None

    def run(self) -> Positions:
        self._returns()
        self._by_reference()
        self._lines_by_reference()
        self._by_amount_counterparty_date()
        self._line_settles_items()
        self._lines_settle_item()
        return Positions(self.lines, self.items, self.found, self.given, self.line_used, self.item_used)

    def _record(self, rule: MatchRule, line_indexes: Sequence[int], item_indexes: Sequence[int]) -> None:
        for i in line_indexes:
            self.line_used[i] = 1
        for j in item_indexes:
            self.item_used[j] = 1
        self.found.append((rule, line_indexes, item_indexes))

    def _by_reference(self) -> None:
        index = self._reference_index()
        if not index:
            return
        item_used, line_used, item_amount = self.item_used, self.line_used, self.item_amount
        line_flow, line_amount, found_pairs = self.line_flow, self.line_amount, self.found
        bank_refs, customer_refs = self.line_bank_ref, self.line_customer_ref
        for i in range(len(line_used)):
            if line_used[i]:
                continue
            flow, amount = line_flow[i], line_amount[i]
            for reference in (bank_refs[i], customer_refs[i]):
                found = index.get((reference, flow)) if reference else None
                if found is None:
                    continue
                if len(found) == 1:  # the usual case: one item carries the reference
                    j = found[0]
                    if not item_used[j] and item_amount[j] == amount:
                        line_used[i] = item_used[j] = 1
                        found_pairs.append(("reference", (i,), (j,)))
                        break
                    continue
                open_ones = [j for j in found if not item_used[j]]
                same_amount = [j for j in open_ones if item_amount[j] == amount]
                if same_amount:
                    self._record("reference", (i,), (same_amount[0],))
                    break
                if len(open_ones) > 1 and sum(item_amount[j] for j in open_ones) == amount:
                    self._record("reference", (i,), open_ones)
                    break

    def _returns(self) -> None:
        """A refund the beneficiary's bank sent back: a reversal line (MT940 RD, CAMT RvslInd, a CSV
        退汇) in the opposite direction, carrying the reference of an open item of the same amount.
        The item did not happen; the return line, and the payout line with the same reference and
        amount if this run has it, are one "returned" match with the item."""
        reversals = [i for i, used in enumerate(self.line_used) if used == 3]
        if not reversals:
            return
        index = self._reference_index()
        line_at: dict[tuple[str, str, int], list[int]] = {}
        for i, account_line in enumerate(self.lines):
            if self.line_used[i] == 0:
                for reference in _references(account_line.line):
                    line_at.setdefault((reference, self.line_flow[i], self.line_amount[i]), []).append(i)
        for i in reversals:
            line = self.lines[i].line
            flow = _opposite(self.line_flow[i])
            amount = self.line_amount[i]
            for reference in _references(line):
                open_ones = [j for j in index.get((reference, flow), ()) if not self.item_used[j]]
                if not open_ones or sum(self.item_amount[j] for j in open_ones) != amount:
                    continue
                payout = [k for k in line_at.get((reference, flow, amount), ()) if self.line_used[k] == 0]
                self._record("returned", (*payout[:1], i), open_ones)
                break

    def _reference_index(self) -> dict[tuple[str, str], list[int]]:
        """Items by (reference, flow), built once per run (the first rule runs on all items). It may
        list items a rule has matched since: every reader skips used items."""
        if self._by_ref is None:
            index: dict[tuple[str, str], list[int]] = {}
            flows = self.item_flow
            for j, item in enumerate(self.items):
                if item.bank_reference:
                    index.setdefault((item.bank_reference, flows[j]), []).append(j)
            self._by_ref = index
        return self._by_ref

    def _lines_by_reference(self) -> None:
        """Many-to-one by reference: a payment the bank split into several lines, each carrying the
        instruction's reference (customer reference / EndToEndId), adding up to the open items."""
        index = self._reference_index()
        if not index:
            return
        groups: dict[tuple[str, str], list[int]] = {}
        for i, account_line in enumerate(self.lines):
            if self.line_used[i]:
                continue
            for reference in dict.fromkeys(_references(account_line.line)):
                if (reference, self.line_flow[i]) in index:
                    groups.setdefault((reference, self.line_flow[i]), []).append(i)
        for key, line_indexes in groups.items():
            open_lines = [i for i in line_indexes if not self.line_used[i]]
            open_items = [j for j in index[key] if not self.item_used[j]]
            if len(open_lines) > 1 and open_items:
                total = sum(self.line_amount[i] for i in open_lines)
                if total == sum(self.item_amount[j] for j in open_items):
                    self._record("reference", open_lines, open_items)

    def _by_amount_counterparty_date(self) -> None:
        buckets: dict[tuple[str, str, int], _Bucket] = {}
        item_used, line_used = self.item_used, self.line_used
        for j, party in enumerate(self.item_party):
            if item_used[j] or party is None:
                continue
            bucket = buckets.get((self.item_flow[j], party, self.item_amount[j]))
            if bucket is None:
                buckets[self.item_flow[j], party, self.item_amount[j]] = ([self.item_day[j]], [j])
            else:
                bucket[0].append(self.item_day[j])
                bucket[1].append(j)
        if not buckets:
            return
        drift = self.drift
        found_pairs = self.found
        for i, party in enumerate(self.line_party):
            if line_used[i] or party is None:
                continue
            found = buckets.get((self.line_flow[i], party, self.line_amount[i]))
            if found is None:
                continue
            days, indexes = found
            day = self.line_day[i]
            best = -1
            best_distance = drift + 1
            for position in range(bisect_left(days, day - drift), bisect_right(days, day + drift)):
                j = indexes[position]
                distance = abs(days[position] - day)
                if distance < best_distance and not item_used[j]:
                    best, best_distance = j, distance
            if best >= 0:
                line_used[i] = 1
                item_used[best] = 1
                found_pairs.append(("amount_counterparty_date", (i,), (best,)))

    def _line_settles_items(self) -> None:
        buckets = _group_buckets(self.item_flow, self.item_party, self.item_day, self.item_used)
        if not buckets:
            return
        for i, party in enumerate(self.line_party):
            if self.line_used[i] or party is None:
                continue
            bucket = buckets.get((self.line_flow[i], party))
            if bucket is not None:
                day, amount = self.line_day[i], self.line_amount[i]
                chosen = self._find_group(bucket, day, amount, self.item_used, self.item_amount)
                if chosen is not None:
                    self._record("group", (i,), chosen)

    def _lines_settle_item(self) -> None:
        buckets = _group_buckets(self.line_flow, self.line_party, self.line_day, self.line_used)
        if not buckets:
            return
        for j, party in enumerate(self.item_party):
            if self.item_used[j] or party is None:
                continue
            bucket = buckets.get((self.item_flow[j], party))
            if bucket is not None:
                day, amount = self.item_day[j], self.item_amount[j]
                chosen = self._find_group(bucket, day, amount, self.line_used, self.line_amount)
                if chosen is not None:
                    self._record("group", chosen, (j,))

    def _find_group(
        self, bucket: _Bucket, day: int, target: int, used: bytearray, amounts: Sequence[int]
    ) -> tuple[int, ...] | None:
        """Indexes of 2..max_group open members within the window adding up to `target`, or None."""
        days, indexes = bucket
        candidates: list[tuple[int, int, int]] = []  # (distance, position in the date order, index)
        for position in range(bisect_left(days, day - self.drift), bisect_right(days, day + self.drift)):
            member = indexes[position]
            if not used[member] and 0 < amounts[member] < target:
                candidates.append((abs(days[position] - day), position, member))
        if len(candidates) < 2:
            return None
        candidates.sort()
        members = [member for _, _, member in candidates[: self.rules.group_candidates]]
        member_amounts = [amounts[member] for member in members]
        if sum(member_amounts) < target:
            return None
        for size in range(2, min(self.rules.max_group, len(members)) + 1):
            found = _first_subset(member_amounts, target, size, 0)
            if found is not None:
                return tuple(members[k] for k in found)
        return None


def _group_buckets(
    flows: Sequence[str], parties: Sequence[str | None], days: Sequence[int], used: bytearray
) -> dict[tuple[str, str], _Bucket]:
    """Open entries by (flow, counterparty), in date order (the sides are kept in date order)."""
    buckets: dict[tuple[str, str], _Bucket] = {}
    for index, party in enumerate(parties):
        if used[index] or party is None:
            continue
        bucket = buckets.setdefault((flows[index], party), ([], []))
        bucket[0].append(days[index])
        bucket[1].append(index)
    return buckets


def _first_subset(amounts: Sequence[int], target: int, size: int, start: int) -> tuple[int, ...] | None:
    """The lexicographically first `size` positions from `start` whose positive amounts sum to target."""
    if size == 1:
        for position in range(start, len(amounts)):
            if amounts[position] == target:
                return (position,)
        return None
    for position in range(start, len(amounts) - size + 1):
        amount = amounts[position]
        if amount < target:  # every other member is positive, so this one must leave room
            rest = _first_subset(amounts, target - amount, size - 1, position + 1)
            if rest is not None:
                return (position, *rest)
    return None


def _references(line: StatementLine) -> tuple[str, ...]:
    return tuple(reference for reference in (line.bank_reference, line.customer_reference) if reference)


def _opposite(flow: str) -> str:
    direction, currency = flow.split(" ")
    return f"{'debit' if direction == 'credit' else 'credit'} {currency}"


def _account_keys(accounts: list[str | None]) -> list[str | None]:
    """`_account_key` of each (a million a run: the usual account needs no call)."""
    return [
        account if account is None or account.isalnum() else _account_key(account) for account in accounts
    ]


def _account_key(account: str | None) -> str | None:
    """Account numbers as banks print them, with spaces between groups; None when absent."""
    if account is None:
        return None
    if account.isalnum():  # the usual case, no whitespace to take out (two million calls a run)
        return account
    compact = "".join(account.split())
    return compact or None
