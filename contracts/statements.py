"""Bank statements as imported for reconciliation: one model for MT940, CAMT.053 and Chinese bank CSV.

- Amounts are integer minor units of the line's currency (fen for CNY), parsed exactly from text by
  `parse_minor_units` (no float, no rounding): more decimals than the currency has is an error.
- A line's amount is always positive; `direction` says which way it moved. Balances keep their sign.
- `source_location` names where a line came from ("line 14", "/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]"),
  so a reconciliation finding can point an operator at the file.
- `StatementParseError` is the one error every statement parser raises, with the place in `location`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.errors import ContractValueError

Direction = Literal["credit", "debit"]

# ISO 4217 minor-unit exponents that differ from 2; every other three-letter code has 2 decimals.
_EXPONENT_EXCEPTIONS: Final[dict[str, int]] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip
_CURRENCY: Final = re.compile(r"[A-Z]{3}")
_DECIMAL: Final = re.compile(r"(?P<whole>[0-9]+)(?:[.,](?P<fraction>[0-9]*))?")
# Far above any real amount; keeps int() away from its digit limit and hostile input small.
_MAX_DIGITS: Final = 24


class StatementParseError(ContractValueError):
    """A statement file that cannot be imported; `location` names the place ("line 7", an XPath)."""

    code: ClassVar[str] = "statement_parse_error"

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem


def is_currency_code(text: str) -> bool:
    return _CURRENCY.fullmatch(text) is not None


def currency_exponent(currency: str) -> int:
    """Decimal places of an ISO 4217 currency (CNY 2, JPY 0, KWD 3)."""
    return _EXPONENT_EXCEPTIONS.get(currency, 2)


def parse_minor_units(text: str, currency: str, location: str) -> int:
    """Unsigned decimal text ("1234.56", "1234,5", "380115,") to minor units of `currency`, exactly.

    The caller strips any sign or thousands separators its format allows; anything else is refused.
    """
    match = _DECIMAL.fullmatch(text)
    if match is None or len(text) > _MAX_DIGITS:
        raise StatementParseError(location, f"not an unsigned decimal amount: {text!r}")
    exponent = currency_exponent(currency)
    fraction = match["fraction"] or ""
    if len(fraction) > exponent:
        raise StatementParseError(
            location, f"amount {text!r} has {len(fraction)} decimals; {currency} has {exponent}"
        )
    minor: int = int(match["whole"]) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    return minor


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Balance(_Frozen):
    """A booked balance: signed minor units (negative = debit balance) on a date."""

    amount_minor: int
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    as_of: date
    intermediate: bool = False  # MT940 :60M:/:62M: (one page of a statement split across messages)


class StatementLine(_Frozen):
    value_date: date
    booking_date: date | None = None
    amount_minor: int = Field(ge=0)  # never negative: `direction` carries the sign
    direction: Direction
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    is_reversal: bool = False  # MT940 RC/RD; `direction` already tells the effect on the balance
    bank_reference: str | None = None
    customer_reference: str | None = None
    transaction_type: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    narrative: str = ""
    source_location: str

    @property
    def signed_minor(self) -> int:
        return self.amount_minor if self.direction == "credit" else -self.amount_minor


class Statement(_Frozen):
    account: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    statement_id: str | None = None
    statement_number: str | None = None
    opening_balance: Balance | None = None
    closing_balance: Balance | None = None
    lines: tuple[StatementLine, ...] = ()
    source_location: str
