"""Encodings and reversal marks the reconciliation relies on (additions to the parsers' own tests)."""

from __future__ import annotations

import pytest

from adapters.statements import csv_cn, mt940
from contracts.statements import StatementParseError

HEADER = "流水号,交易日期,交易时间,借方发生额,贷方发生额,对方户名,对方账号,摘要,客户参考号"


def test_a_utf16_csv_is_refused_as_a_wrong_encoding_not_as_a_missing_header() -> None:
    data = f"账号: 6222\n{HEADER}\nB1,2026-03-01,10:00:00,,1.00,某公司,6222,保证金,\n".encode("utf-16")
    with pytest.raises(StatementParseError, match="line 1: NUL bytes: the file is neither UTF-8 nor GBK"):
        csv_cn.parse(data)


def test_a_byte_neither_utf8_nor_gbk_is_refused_with_its_line() -> None:
    data = f"账号: 6222\n{HEADER}\n".encode("gbk") + b"B1,2026-03-01,10:00:00,,1.00,\x80,6222,x,\n"
    with pytest.raises(StatementParseError, match="line 3: the file is neither UTF-8 nor GBK"):
        csv_cn.parse(data)


def test_a_csv_return_is_a_reversal_and_carries_the_customer_reference() -> None:
    rows = [
        f"账号: 6222\n{HEADER}",
        "B1,2026-03-01,10:00:00,100.00,,某公司,6222,保证金退还,RF1",
        "B2,2026-03-03,10:00:00,,100.00,某公司,6222,退汇 账户不存在,RF1",
    ]
    (statement,) = csv_cn.parse("\n".join(rows).encode("gbk"))
    payout, returned = statement.lines
    assert (payout.direction, payout.is_reversal, payout.customer_reference) == ("debit", False, "RF1")
    assert (returned.direction, returned.is_reversal, returned.customer_reference) == ("credit", True, "RF1")


def test_an_mt940_in_utf16_is_refused_at_the_first_nul() -> None:
    data = ":20:X\r\n:25:6222\r\n".encode("utf-16-le")
    with pytest.raises(StatementParseError, match="line 1: control character U\\+0000"):
        mt940.parse(data)
