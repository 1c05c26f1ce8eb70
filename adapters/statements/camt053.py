"""ISO 20022 CAMT.053 bank-to-customer statements (camt.053.001.02 to .08): `parse(data)`.

The standard library's parser, with DTDs refused before parsing (so no entity expansion and no
external entities). Errors name the element path, e.g. /Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from typing import Final

from adapters.statements._common import reject_duplicate_bank_references
from contracts.statements import (
    Balance,
    Statement,
    StatementLine,
    StatementParseError,
    is_currency_code,
    parse_minor_units,
)

_NAMESPACE: Final = re.compile(r"\{urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0[2-8]\}Document")
_MAX_BYTES: Final = 50 * 1024 * 1024


def parse(data: bytes) -> list[Statement]:
    if len(data) > _MAX_BYTES:
        raise StatementParseError("file", f"larger than {_MAX_BYTES} bytes")
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise StatementParseError("file", "DTDs and entity declarations are refused")
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD can reach here
    except ET.ParseError as error:
        line, column = error.position
        raise StatementParseError(
            f"line {line} column {column + 1}", f"not well-formed XML ({error.msg})"
        ) from None
    match = _NAMESPACE.fullmatch(root.tag)
    if match is None:
        raise StatementParseError("/", f"root element {root.tag!r} is not a camt.053.001.02-08 Document")
    ns = root.tag[1 : root.tag.index("}")]
    report = root.find(f"{{{ns}}}BkToCstmrStmt")
    if report is None:
        raise StatementParseError("/Document", "no BkToCstmrStmt")
    reader = _Reader(ns)
    statements = [
        reader.statement(element, f"/Document/BkToCstmrStmt/Stmt[{index}]")
        for index, element in enumerate(report.findall(f"{{{ns}}}Stmt"), start=1)
    ]
    if not statements:
        raise StatementParseError("/Document/BkToCstmrStmt", "no Stmt")
    reject_duplicate_bank_references(statements)
    return statements


class _Reader:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def _find(self, element: ET.Element, path: str) -> ET.Element | None:
        return element.find("/".join(f"{{{self.ns}}}{part}" for part in path.split("/")))

    def _text(self, element: ET.Element, path: str, where: str, *, required: bool = False) -> str | None:
        found = self._find(element, path)
        text = (found.text or "").strip() if found is not None else ""
        if not text and required:
            raise StatementParseError(f"{where}/{path}", "missing or empty")
        return text or None

    def _date(self, element: ET.Element, path: str, where: str) -> date | None:
        text = self._text(element, f"{path}/Dt", where) or self._text(element, f"{path}/DtTm", where)
        if text is None:
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise StatementParseError(f"{where}/{path}", f"not a date: {text!r}") from None

    def _amount(self, element: ET.Element, where: str) -> tuple[int, str]:
        amount = self._find(element, "Amt")
        if amount is None:
            raise StatementParseError(f"{where}/Amt", "missing")
        currency = amount.get("Ccy", "")
        if not is_currency_code(currency):
            raise StatementParseError(f"{where}/Amt", f"currency {currency!r} is not a code")
        text = (amount.text or "").strip()
        if text.startswith("-"):
            raise StatementParseError(f"{where}/Amt", f"negative amount {text!r}: the sign is CdtDbtInd")
        if "," in text:
            raise StatementParseError(f"{where}/Amt", f"amount {text!r}: the decimal separator is '.'")
        return parse_minor_units(text, currency, f"{where}/Amt"), currency

    def _credit(self, element: ET.Element, where: str) -> bool:
        indicator = self._text(element, "CdtDbtInd", where, required=True)
        if indicator not in ("CRDT", "DBIT"):
            raise StatementParseError(f"{where}/CdtDbtInd", f"{indicator!r} is not CRDT or DBIT")
        return indicator == "CRDT"

    def _balance(self, statement: ET.Element, code: str, where: str) -> Balance | None:
        for index, element in enumerate(statement.findall(f"{{{self.ns}}}Bal"), start=1):
            if self._text(element, "Tp/CdOrPrtry/Cd", where) != code:
                continue
            here = f"{where}/Bal[{index}]"
            minor, currency = self._amount(element, here)
            as_of = self._date(element, "Dt", here)
            if as_of is None:
                raise StatementParseError(f"{here}/Dt", "missing")
            return Balance(
                amount_minor=minor if self._credit(element, here) else -minor, currency=currency, as_of=as_of
            )
        return None

    def statement(self, element: ET.Element, where: str) -> Statement:
        account = self._text(element, "Acct/Id/IBAN", where) or self._text(element, "Acct/Id/Othr/Id", where)
        if account is None:
            raise StatementParseError(f"{where}/Acct/Id", "no IBAN or Othr/Id")
        opening = self._balance(element, "OPBD", where)
        closing = self._balance(element, "CLBD", where)
        currency = (
            self._text(element, "Acct/Ccy", where) or (opening or closing or _no_currency(where)).currency
        )
        if not is_currency_code(currency):
            raise StatementParseError(f"{where}/Acct/Ccy", f"currency {currency!r} is not a code")
        lines = tuple(
            self._entry(entry, f"{where}/Ntry[{index}]")
            for index, entry in enumerate(element.findall(f"{{{self.ns}}}Ntry"), start=1)
        )
        return Statement(
            account=account,
            currency=currency,
            statement_id=self._text(element, "Id", where),
            statement_number=self._text(element, "ElctrncSeqNb", where)
            or self._text(element, "LglSeqNb", where),
            opening_balance=opening,
            closing_balance=closing,
            lines=lines,
            source_location=where,
        )

    def _entry(self, entry: ET.Element, where: str) -> StatementLine:
        minor, currency = self._amount(entry, where)
        credit = self._credit(entry, where)
        booking = self._date(entry, "BookgDt", where)
        value = self._date(entry, "ValDt", where) or booking
        if value is None:
            raise StatementParseError(f"{where}/ValDt", "missing (and no BookgDt)")
        details = self._find(entry, "NtryDtls/TxDtls")
        party = "Dbtr" if credit else "Cdtr"  # the other side: who paid us, or whom we paid
        name = account = end_to_end = remittance = None
        if details is not None:
            end_to_end = self._text(details, "Refs/EndToEndId", where)
            name = self._text(details, f"RltdPties/{party}/Nm", where) or self._text(
                details, f"RltdPties/{party}/Pty/Nm", where
            )
            account = self._text(details, f"RltdPties/{party}Acct/Id/IBAN", where) or self._text(
                details, f"RltdPties/{party}Acct/Id/Othr/Id", where
            )
            remittance = self._text(details, "RmtInf/Ustrd", where)
        return StatementLine(
            value_date=value,
            booking_date=booking,
            amount_minor=minor,
            direction="credit" if credit else "debit",
            currency=currency,
            is_reversal=self._text(entry, "RvslInd", where) == "true",
            bank_reference=self._text(entry, "AcctSvcrRef", where) or self._text(entry, "NtryRef", where),
            customer_reference=end_to_end,
            counterparty_name=name,
            counterparty_account=account,
            narrative=remittance or self._text(entry, "AddtlNtryInf", where) or "",
            source_location=where,
        )


def _no_currency(where: str) -> Balance:
    raise StatementParseError(f"{where}/Acct/Ccy", "no account currency and no OPBD/CLBD balance")
