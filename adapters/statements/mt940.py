"""SWIFT MT940 customer statements: `parse(data) -> list[Statement]`, strict where money is concerned.

A file holds one or more statements, each from :20: to :62F:/:62M: (+ :64:, :65:, :86:), optionally
inside {1:}{2:}{4: ... -} envelopes, with bank preambles ("ABNANL2A", "940", ":940:") between them.
Amounts, dates and debit/credit marks are checked exactly; free text (:86:) is kept as the bank wrote
it. MT942 interim reports are refused. Every decision about a lenient reading is in README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from adapters.statements._common import reject_duplicate_bank_references
from contracts.statements import (
    Balance,
    Direction,
    Statement,
    StatementLine,
    StatementParseError,
    is_currency_code,
    parse_minor_units,
)

_TAG: Final = re.compile(r":(?P<tag>[0-9]{2}[A-Z]?|NS):(?P<value>.*)")
_STATEMENT_TAGS: Final = frozenset(
    {"20", "21", "25", "28", "28C", "60F", "60M", "61", "86", "62F", "62M", "64", "65", "NS"}
)
_MT942_TAGS: Final = frozenset({"13", "13D", "34F", "90D", "90C"})
# The order tags must come in; :61:/:86: pairs repeat in phase 5, and :86: may also close a statement.
_PHASE: Final[dict[str, int]] = {
    "20": 0, "21": 1, "25": 2, "28": 3, "28C": 3, "60F": 4, "60M": 4, "61": 5,
    "62F": 6, "62M": 6, "64": 7, "65": 8,
}  # fmt: skip
_ONCE: Final = frozenset({"20", "21", "25", "28", "28C", "60F", "60M", "62F", "62M", "64"})
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
_ENVELOPE: Final = re.compile(r"\{4:(?P<body>.*?)-\}", re.DOTALL)
_BALANCE: Final = re.compile(r"(?P<mark>[CD])(?P<date>[0-9]{6})(?P<currency>.{3})(?P<amount>.*)")
_ENTRY_HEAD: Final = re.compile(
    r"(?P<value>[0-9]{6})(?P<entry>[0-9]{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?(?P<amount>[0-9,.\-]*)"
)
_TRANSACTION_TYPE: Final = re.compile(r"[A-Z][A-Z0-9 ]{3}")
_MAX_BYTES: Final = 50 * 1024 * 1024
_REVERSAL_DIRECTION: Final[dict[str, Direction]] = {
    "C": "credit",
    "D": "debit",
    "RC": "debit",
    "RD": "credit",
}


@dataclass
class _Field:
    tag: str
    line_no: int
    value: str
    continuation: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"line {self.line_no}"


def parse(data: bytes) -> list[Statement]:
    """Every statement in an MT940 file, or `StatementParseError` at the first problem."""
    if len(data) > _MAX_BYTES:
        raise StatementParseError("file", f"larger than {_MAX_BYTES} bytes")
    numbered = _numbered_lines(_decode(data))
    statements = [_build_statement(fields) for fields in _split_statements(numbered)]
    if not statements:
        raise StatementParseError("line 1", "no MT940 statement found (no :20: tag)")
    reject_duplicate_bank_references(statements)
    return statements


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # SWIFT's character set is ASCII; the non-ASCII bytes banks put in free text are in a national
        # code page we cannot tell from the bytes. latin-1 keeps every byte, so amounts, dates and
        # references (ASCII) are exact and free text is kept byte for byte.
        text = data.decode("latin-1")
    # SOH ... ETX framing some banks (mBank) put around the whole file.
    stripped = text.strip(" \t\r\n")
    if stripped.startswith("\x01"):
        text = text.replace("\x01", "", 1)
    if stripped.endswith("\x03"):
        text = text[: text.rindex("\x03")]
    return text


def _numbered_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) pairs of the text to read: the {4:} blocks if the file has envelopes."""
    lines = re.split(r"\r\n|\r|\n", text)
    if "{1:" not in text and "{4:" not in text:
        spans = [(0, len(lines))]
    else:
        spans = []
        for match in _ENVELOPE.finditer(text):
            first = text.count("\n", 0, match.start("body"))
            body_lines = re.split(r"\r\n|\r|\n", match["body"])
            spans.append((first, first + len(body_lines)))
            lines[first] = body_lines[0]  # the text after "{4:" on its own line
            lines[first + len(body_lines) - 1] = body_lines[-1]  # the text before "-}"
        if not spans:
            raise StatementParseError("line 1", "SWIFT envelope without a complete {4: ... -} text block")
    numbered: list[tuple[int, str]] = []
    for start, end in spans:
        for index in range(start, end):
            line = lines[index].rstrip()
            control = _CONTROL.search(line)
            if control is not None:
                raise StatementParseError(
                    f"line {index + 1}",
                    f"control character U+{ord(control.group()):04X} at column {control.start() + 1}",
                )
            numbered.append((index + 1, line))
        numbered.append((end, "-"))  # a block ends its message
    return numbered


def _split_statements(numbered: list[tuple[int, str]]) -> list[list[_Field]]:
    statements: list[list[_Field]] = []
    current: list[_Field] | None = None
    for line_no, line in numbered:
        if line == "-":
            current = None
            continue
        match = _TAG.fullmatch(line)
        tag = match["tag"] if match else None
        if tag in _MT942_TAGS:
            raise StatementParseError(
                f"line {line_no}",
                f":{tag}: is an MT942 interim-report tag; only MT940 statements are imported",
            )
        if match is not None and tag == "20":
            current = [_Field("20", line_no, match["value"].strip())]
            statements.append(current)
            continue
        if current is None:
            if match is not None and tag in _STATEMENT_TAGS:
                raise StatementParseError(
                    f"line {line_no}", f":{tag}: outside a statement (no :20: before it)"
                )
            continue  # bank preamble between messages: "ABNANL2A", "940", ":940:", blank lines
        if match is not None and tag in _STATEMENT_TAGS:
            current.append(_Field(tag or "", line_no, match["value"]))
            continue
        if not line:
            continue
        previous = current[-1]
        if previous.tag not in ("86", "NS", "61"):
            what = f"unknown tag :{tag}:" if match is not None else f"{line[:20]!r} is not a tag and"
            raise StatementParseError(
                f"line {line_no}",
                f"{what} :{previous.tag}: (line {previous.line_no}) has no continuation lines",
            )
        # A continuation line (an unknown ":nn:" inside :86: text is a bank wrapping its free text).
        previous.continuation.append(line)
    return statements


def _build_statement(fields: list[_Field]) -> Statement:
    head = fields[0]
    seen: dict[str, _Field] = {}
    phase = 0
    lines: list[StatementLine] = []
    pending: list[tuple[_Field, list[str]]] = []  # each :61: with the :86: texts that follow it
    opening: Balance | None = None
    closing: Balance | None = None
    for item in fields:
        if item.tag == "NS":
            continue  # non-SWIFT bank data, not part of the statement
        family = "28" if item.tag == "28C" else item.tag[:2] if item.tag[:2] in ("60", "62") else item.tag
        if family in seen and item.tag in _ONCE:
            raise StatementParseError(item.where, f":{item.tag}: repeated (first at {seen[family].where})")
        if item.tag == "86":
            if phase == 5 and pending:
                pending[-1][1].append("\n".join([item.value, *item.continuation]).strip())
            continue  # statement-level information
        tag_phase = _PHASE[item.tag]
        if tag_phase < phase:
            raise StatementParseError(item.where, f":{item.tag}: out of order")
        phase = tag_phase
        seen[family] = item
        if item.tag == "61":
            pending.append((item, []))
        elif family == "60":
            opening = _balance(item)
        elif family == "62":
            closing = _balance(item)
        elif item.tag in ("64", "65"):
            _balance(item)  # checked for form; available balances are not reconciled
    for tag, name in (
        ("25", "account identification"),
        ("28", "statement number"),
        ("60", "opening balance"),
    ):
        if tag not in seen:
            raise StatementParseError(head.where, f"statement has no :{tag}: {name}")
    if closing is None:
        raise StatementParseError(head.where, "statement has no :62F:/:62M: closing balance")
    assert opening is not None
    if closing.currency != opening.currency:
        raise StatementParseError(
            seen["62"].where, f"closing balance in {closing.currency}, opening in {opening.currency}"
        )
    for entry, details in pending:
        lines.append(_statement_line(entry, details, opening.currency))
    account = seen["25"].value.strip()
    if not account:
        raise StatementParseError(seen["25"].where, ":25: account identification is empty")
    return Statement(
        account=account,
        currency=opening.currency,
        statement_id=head.value or None,
        statement_number=seen["28"].value.strip() or None,
        opening_balance=opening,
        closing_balance=closing,
        lines=tuple(lines),
        source_location=head.where,
    )


def _date(text: str, where: str, what: str) -> date:
    year = int(text[:2])
    try:
        return date(2000 + year if year < 70 else 1900 + year, int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise StatementParseError(where, f"{what} {text} is not a calendar date (YYMMDD)") from None


def _amount(text: str, currency: str, where: str) -> int:
    if "-" in text:
        raise StatementParseError(where, f"negative amount {text!r}: the sign is the D/C mark")
    # A whole amount without its comma ("C500NTRF", Knab) is unambiguous: the digits end at the letter.
    if "." in text or text.count(",") > 1 or not text or not text[0].isdigit():
        raise StatementParseError(where, f"amount {text!r} is not digits with one decimal comma")
    return parse_minor_units(text, currency, where)


def _balance(item: _Field) -> Balance:
    match = _BALANCE.fullmatch(item.value.strip())
    if match is None:
        raise StatementParseError(item.where, f":{item.tag}: is not D/C mark, YYMMDD, currency, amount")
    if not is_currency_code(match["currency"]):
        raise StatementParseError(item.where, f":{item.tag}: currency {match['currency']!r} is not a code")
    minor = _amount(match["amount"], match["currency"], item.where)
    return Balance(
        amount_minor=-minor if match["mark"] == "D" else minor,
        currency=match["currency"],
        as_of=_date(match["date"], item.where, f":{item.tag}: date"),
        intermediate=item.tag.endswith("M"),
    )


def _entry_date(text: str, value_date: date, where: str) -> date:
    month, day = int(text[:2]), int(text[2:])
    # MMDD without a year: the one of the value date's year and its neighbours closest to the value date.
    candidates = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise StatementParseError(where, f":61: entry date {text} is not a calendar date (MMDD)")
    best = min(candidates, key=lambda candidate: abs(candidate - value_date))
    if abs(best - value_date) > timedelta(days=183):
        raise StatementParseError(where, f":61: entry date {text} is too far from the value date")
    return best


def _statement_line(item: _Field, details: list[str], currency: str) -> StatementLine:
    head = _ENTRY_HEAD.match(item.value)
    if head is None:
        raise StatementParseError(
            item.where, ":61: must start with value date YYMMDD, [entry date MMDD], mark C/D/RC/RD, amount"
        )
    value_date = _date(head["value"], item.where, ":61: value date")
    booking_date = _entry_date(head["entry"], value_date, item.where) if head["entry"] else None
    minor = _amount(head["amount"], currency, item.where)
    rest = item.value[head.end() :]
    if _TRANSACTION_TYPE.match(rest) is None:
        raise StatementParseError(item.where, f":61: transaction type {rest[:4]!r} is not like 'NTRF'")
    transaction_type, rest = rest[:4], rest[4:]
    extra = [line.strip() for line in item.continuation]
    if "//" in rest:
        split = rest.index("//")
        # "REF///BANK": the customer reference (16x) may end in "/", so the separator is the last pair.
        while rest.startswith("///", split) and split < 16:
            split += 1
        customer, bank = rest[:split], rest[split + 2 :]
    else:
        customer, bank = rest[:16], ""
        if rest[16:].strip():
            extra.insert(0, rest[16:].strip())
    narrative = "\n".join([*(part for part in extra if part), *(part for part in details if part)])
    return StatementLine(
        value_date=value_date,
        booking_date=booking_date,
        amount_minor=minor,
        direction=_REVERSAL_DIRECTION[head["mark"]],
        currency=currency,
        is_reversal=head["mark"].startswith("R"),
        bank_reference=bank.strip() or None,
        customer_reference=customer.strip() or None,
        transaction_type=transaction_type.strip(),
        narrative=narrative,
        source_location=item.where,
    )
