"""Round trips (hypothesis) through all three parsers, fuzzing, and the bad inputs the issue lists."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.statements import camt053, csv_cn, mt940
from contracts.statements import StatementParseError

amounts = st.integers(min_value=1, max_value=10**12)
days = st.dates(min_value=date(2001, 1, 1), max_value=date(2068, 12, 31))
lines = st.lists(st.tuples(amounts, st.booleans(), days), min_size=1, max_size=8)


def _mt940(entries: list[tuple[int, bool, date]]) -> bytes:
    rows = [":20:REF", ":25:6222000011112222", ":28C:1/1", ":60F:C260301CNY0,00"]
    for index, (minor, credit, day) in enumerate(entries):
        amount = f"{minor // 100},{minor % 100:02d}"
        rows.append(f":61:{day:%y%m%d}{'C' if credit else 'D'}{amount}NTRFNONREF//B{index}")
        rows.append(f":86:line {index}")
    rows += [":62F:C260301CNY0,00", "-"]
    return "\r\n".join(rows).encode()


def _camt(entries: list[tuple[int, bool, date]]) -> bytes:
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    body = "".join(
        f"<Ntry><Amt Ccy='CNY'>{m // 100}.{m % 100:02d}</Amt><CdtDbtInd>{'CRDT' if c else 'DBIT'}</CdtDbtInd>"
        f"<BookgDt><Dt>{d}</Dt></BookgDt><ValDt><Dt>{d}</Dt></ValDt><AcctSvcrRef>B{i}</AcctSvcrRef></Ntry>"
        for i, (m, c, d) in enumerate(entries)
    )
    return (
        f"<?xml version='1.0'?><Document xmlns='{ns}'><BkToCstmrStmt><Stmt><Id>S1</Id>"
        f"<Acct><Id><Othr><Id>6222</Id></Othr></Id><Ccy>CNY</Ccy></Acct>{body}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def _csv(entries: list[tuple[int, bool, date]], encoding: str) -> bytes:
    rows = [
        "账号: 6222000011112222",
        "流水号,交易日期,交易时间,借方发生额,贷方发生额,对方户名,对方账号,摘要,备注",
    ]
    for i, (m, c, d) in enumerate(entries):
        amount = f'"{m // 100:,}.{m % 100:02d}"'
        rows.append(
            f"B{i},{d:%Y%m%d},10:00:00,{'' if c else amount},{amount if c else ''},某公司,6222,保证金,"
        )
    return "\n".join(rows).encode(encoding)


def _signed(entries: list[tuple[int, bool, date]]) -> list[tuple[int, date]]:
    return [(m if c else -m, d) for m, c, d in entries]


@given(lines)
def test_generated_mt940_round_trips(entries: list[tuple[int, bool, date]]) -> None:
    (statement,) = mt940.parse(_mt940(entries))
    assert [(line.signed_minor, line.value_date) for line in statement.lines] == _signed(entries)


@given(lines)
def test_generated_camt053_round_trips(entries: list[tuple[int, bool, date]]) -> None:
    (statement,) = camt053.parse(_camt(entries))
    assert [(line.signed_minor, line.value_date) for line in statement.lines] == _signed(entries)


@given(lines, st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_generated_csv_round_trips_in_every_encoding(
    entries: list[tuple[int, bool, date]], encoding: str
) -> None:
    (statement,) = csv_cn.parse(_csv(entries, encoding))
    assert statement.account == "6222000011112222"
    assert [(line.signed_minor, line.value_date) for line in statement.lines] == _signed(entries)
    assert statement.lines[0].counterparty_name == "某公司"


@settings(max_examples=300)
@given(st.binary(max_size=400), st.sampled_from([mt940.parse, camt053.parse, csv_cn.parse]))
def test_random_bytes_only_ever_give_statement_parse_error(data: bytes, parser: object) -> None:
    with contextlib.suppress(StatementParseError):
        parser(data)  # type: ignore[operator]


@settings(max_examples=300)
@given(st.data())
def test_mutated_valid_files_only_ever_give_statement_parse_error(data: st.DataObject) -> None:
    sample = [(123456, True, date(2026, 3, 1)), (99, False, date(2026, 3, 2))]
    for parser, valid in (
        (mt940.parse, _mt940(sample)),
        (camt053.parse, _camt(sample)),
        (csv_cn.parse, _csv(sample, "gbk")),
    ):
        position = data.draw(st.integers(0, len(valid) - 1))
        mutated = valid[:position] + data.draw(st.binary(max_size=3)) + valid[position + 1 :]
        with contextlib.suppress(StatementParseError):
            parser(mutated)


@pytest.mark.parametrize(
    ("data", "location", "words"),
    [
        (_mt940([(100, True, date(2026, 3, 1))]).replace(b"C1,00", b"C1,001"), "line 5", "3 decimals"),
        (_mt940([(100, True, date(2026, 3, 1))]).replace(b"C1,00", b"C-1,00"), "line 5", "negative amount"),
        (
            _mt940([(1, True, date(2026, 3, 1)), (2, True, date(2026, 3, 1))]).replace(b"//B1", b"//B0"),
            "line 7",
            "duplicated",
        ),
        (_mt940([(1, True, date(2026, 3, 1))]).replace(b":61:", b":6X:"), "line 5", ""),
    ],
)
def test_bad_mt940_points_at_the_line(data: bytes, location: str, words: str) -> None:
    with pytest.raises(StatementParseError) as caught:
        mt940.parse(data)
    assert caught.value.location.startswith(location) or caught.value.location == "line 1"
    assert words in str(caught.value)


def test_bad_camt_points_at_the_element() -> None:
    valid = _camt([(100, True, date(2026, 3, 1)), (200, True, date(2026, 3, 1))])
    with pytest.raises(StatementParseError, match=r"Stmt\[1\]/Ntry\[2\]/Amt: amount '2.001'"):
        camt053.parse(valid.replace(b"2.00<", b"2.001<"))
    with pytest.raises(StatementParseError, match="negative"):
        camt053.parse(valid.replace(b">2.00<", b">-2.00<"))
    with pytest.raises(StatementParseError, match=r"Ntry\[2\]: bank reference 'B0' is duplicated"):
        camt053.parse(valid.replace(b"B1", b"B0"))
    with pytest.raises(StatementParseError, match="not well-formed"):
        camt053.parse(valid[: len(valid) // 2])
    with pytest.raises(StatementParseError, match="DTD"):
        camt053.parse(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + valid[21:])


def test_bad_csv_points_at_line_and_column() -> None:
    valid = _csv([(100, True, date(2026, 3, 1)), (200, False, date(2026, 3, 2))], "utf-8")
    with pytest.raises(StatementParseError, match=r"line 4 column 借方发生额: amount '2\.001'"):
        csv_cn.parse(valid.replace(b'"2.00"', b'"2.001"'))
    with pytest.raises(StatementParseError, match="line 4 column 借方发生额: negative"):
        csv_cn.parse(valid.replace(b'"2.00"', b'"-2.00"'))
    with pytest.raises(StatementParseError, match="line 4: bank reference 'B0' is duplicated"):
        csv_cn.parse(valid.replace(b"B1,", b"B0,"))
    with pytest.raises(StatementParseError, match="neither UTF-8 nor GBK"):
        csv_cn.parse(valid + b"\xff\xff")
