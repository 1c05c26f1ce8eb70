"""The CSV that Chinese banks export (交易日期, 借方发生额, 贷方发生额, ...): `parse(data, account=...)`.

UTF-8 (with or without BOM) is tried strictly first, then GBK; a file that is neither is refused.
Column order is free and extra columns are ignored; the eight named columns are required. Lines before
the header row such as "账号: 6222..." give the account when no `account` is passed.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from typing import Final

from adapters.statements._common import reject_duplicate_bank_references
from contracts.statements import Statement, StatementLine, StatementParseError, parse_minor_units

REQUIRED: Final = (
    "交易日期",
    "交易时间",
    "借方发生额",
    "贷方发生额",
    "对方户名",
    "对方账号",
    "摘要",
    "流水号",
)
_ACCOUNT_LINE: Final = re.compile(r"\s*(?:账号|账户|帐号)\s*[:：]\s*(?P<account>[0-9A-Za-z\- ]+?)\s*,*\s*")
_DATE: Final = re.compile(
    r"(?P<y>[0-9]{4})(?:-(?P<m1>[0-9]{2})-(?P<d1>[0-9]{2})|/(?P<m2>[0-9]{2})/(?P<d2>[0-9]{2})|(?P<m3>[0-9]{2})(?P<d3>[0-9]{2}))"
)
_AMOUNT: Final = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?")
_MAX_BYTES: Final = 50 * 1024 * 1024
# Optional columns some banks add: the reference the customer sent with a payment (our refund
# instruction id). The first one present is read.
CUSTOMER_REFERENCE: Final = ("客户参考号", "业务参考号", "客户流水号")
# 摘要 words that mark a line undoing an earlier movement: a returned remittance, a bank correction.
_REVERSAL_WORDS: Final = ("退汇", "退票", "冲正")


def decode(data: bytes) -> str:
    if b"\x00" in data:
        # GBK would "decode" UTF-16 byte by byte into noise; name the real problem instead.
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise StatementParseError(f"line {line}", "NUL bytes: the file is neither UTF-8 nor GBK (UTF-16?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gbk")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StatementParseError(f"line {line}", "the file is neither UTF-8 nor GBK") from None


def parse(data: bytes, account: str | None = None, currency: str = "CNY") -> list[Statement]:
    if len(data) > _MAX_BYTES:
        raise StatementParseError("file", f"larger than {_MAX_BYTES} bytes")
    rows = list(csv.reader(decode(data).splitlines()))
    header_index = next(
        (i for i, row in enumerate(rows) if "交易日期" in [cell.strip() for cell in row]), None
    )
    if header_index is None:
        raise StatementParseError("line 1", "no header row with 交易日期")
    for row in rows[:header_index]:
        found = _ACCOUNT_LINE.fullmatch(",".join(row))
        if found is not None and account is None:
            account = found["account"].strip()
    if not account:
        raise StatementParseError("line 1", "no account: pass one or put 账号: ... above the header")
    header = [cell.strip() for cell in rows[header_index]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise StatementParseError(f"line {header_index + 1}", f"header lacks {', '.join(missing)}")
    column = {name: header.index(name) for name in REQUIRED}
    optional = next((name for name in CUSTOMER_REFERENCE if name in header), None)
    if optional is not None:
        column["customer_reference"] = header.index(optional)
    lines = []
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise StatementParseError(f"line {offset}", f"{len(row)} columns, the header has {len(header)}")
        lines.append(_line(row, column, offset, currency))
    statement = Statement(account=account, currency=currency, lines=tuple(lines), source_location="line 1")
    reject_duplicate_bank_references([statement])
    return [statement]


def _line(row: list[str], column: dict[str, int], line_no: int, currency: str) -> StatementLine:
    def cell(name: str) -> str:
        return row[column[name]].strip()

    where = f"line {line_no}"
    debit, credit = cell("借方发生额"), cell("贷方发生额")
    if bool(debit) == bool(credit):
        raise StatementParseError(f"{where} column 借方发生额/贷方发生额", "exactly one must be filled")
    name = "借方发生额" if debit else "贷方发生额"
    text = debit or credit
    if text.startswith("-"):
        raise StatementParseError(
            f"{where} column {name}", f"negative amount {text!r}: the column is the sign"
        )
    if _AMOUNT.fullmatch(text) is None:
        raise StatementParseError(f"{where} column {name}", f"not an amount: {text!r}")
    minor = parse_minor_units(text.replace(",", ""), currency, f"{where} column {name}")
    value_date = _date(cell("交易日期"), f"{where} column 交易日期")
    reference = cell("流水号")
    if not reference:
        raise StatementParseError(f"{where} column 流水号", "empty")
    summary = cell("摘要")
    customer = cell("customer_reference") if "customer_reference" in column else ""
    return StatementLine(
        value_date=value_date,
        booking_date=value_date,
        amount_minor=minor,
        direction="debit" if debit else "credit",
        currency=currency,
        is_reversal=any(word in summary for word in _REVERSAL_WORDS),
        bank_reference=reference,
        customer_reference=customer or None,
        counterparty_name=cell("对方户名") or None,
        counterparty_account=cell("对方账号") or None,
        narrative=summary,
        source_location=where,
    )


def _date(text: str, where: str) -> date:
    found = _DATE.fullmatch(text)
    if found is not None:
        month = found["m1"] or found["m2"] or found["m3"]
        day = found["d1"] or found["d2"] or found["d3"]
        try:
            return date(int(found["y"]), int(month), int(day))
        except ValueError:
            pass
    raise StatementParseError(where, f"not a date: {text!r}")
