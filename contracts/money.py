"""Money: an immutable amount of renminbi in integer fen (分). No float ever holds an amount.

- Amounts cross every boundary as integer fen (interfaces.md: `amount_fen`); in pydantic models a
  `Money` field validates from an int (never a bool, float or numeric string) and serialises to the int
  in JSON and in Python-mode dumps alike, so a dump always validates back.
- `Money.from_yuan` is the one parser for yuan text typed by people or found in files: "1234.56",
  "1,234.56", "¥1,234.56", "-¥1,234.56", "-0.5"; at most two decimals; both ¥ (U+00A5) and the
  full-width ￥ (U+FFE5) that Chinese input methods produce. It is parsed digit by digit, not via
  float or Decimal, so there is nothing to round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from pydantic import GetCoreSchemaHandler, ValidationError
from pydantic_core import PydanticCustomError, core_schema

from contracts.capitals import amount_in_capitals
from contracts.errors import ContractValueError

_YUAN_PATTERN: Final = re.compile(
    r"(?P<sign>-?)[¥￥]?(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<cents>[0-9]{1,2}))?"
)
# Far above any real amount; keeps int() away from its 4,300-digit limit and hostile input small.
_MAX_TEXT_LENGTH: Final = 40


class MoneyError(ContractValueError):
    code: ClassVar[str] = "invalid_amount"


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in fen; `Money(123456)` is ¥1,234.56."""

    fen: int

    def __post_init__(self) -> None:
        if isinstance(self.fen, bool) or not isinstance(self.fen, int):
            raise MoneyError(f"an amount is an int number of fen, got {type(self.fen).__name__}")

    @classmethod
    def from_yuan(cls, text: str) -> Money:
        """Parse yuan text such as "¥1,234.56" or "-0.5"; refuse anything ambiguous."""
        if not isinstance(text, str):
            raise MoneyError(f"yuan amounts are parsed from text, got {type(text).__name__}")
        stripped = text.strip()
        if len(stripped) > _MAX_TEXT_LENGTH:
            raise MoneyError("amount text is too long")
        match = _YUAN_PATTERN.fullmatch(stripped)
        if match is None:
            raise MoneyError(f"not a yuan amount with at most two decimals: {text!r}")
        whole = int(match["whole"].replace(",", ""))
        cents = int((match["cents"] or "0").ljust(2, "0"))
        fen = whole * 100 + cents
        return cls(-fen if match["sign"] else fen)

    @property
    def yuan_str(self) -> str:
        """Plain yuan with two decimals, e.g. "1234.56" or "-0.50"; `from_yuan` reads it back."""
        sign = "-" if self.fen < 0 else ""
        yuan, cents = divmod(abs(self.fen), 100)
        return f"{sign}{yuan}.{cents:02d}"

    @property
    def capitals(self) -> str:
        """The amount in Chinese financial capitals (壹拾万元整); ValueError outside 0..10**12 fen."""
        return amount_in_capitals(self.fen)

    def __str__(self) -> str:
        sign = "-" if self.fen < 0 else ""
        yuan, cents = divmod(abs(self.fen), 100)
        return f"{sign}¥{yuan:,}.{cents:02d}"

    def __repr__(self) -> str:
        return f"Money({self.fen})"

    def __format__(self, spec: str) -> str:
        # Width and alignment apply to the displayed text; there is no numeric format to pick.
        return format(str(self), spec)

    def __bool__(self) -> bool:
        return self.fen != 0

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen + other.fen)

    def __radd__(self, other: int) -> Money:
        # Only so that sum() can start from 0; adding a bare number of fen is a unit mistake.
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen - other.fen)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return Money(self.fen * factor)

    __rmul__ = __mul__

    def __floordiv__(self, divisor: int) -> Money:
        if isinstance(divisor, bool) or not isinstance(divisor, int):
            return NotImplemented
        return Money(self.fen // divisor)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __abs__(self) -> Money:
        return Money(abs(self.fen))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Strict int: a bool, a float (even 1.0) or a numeric string is a caller's unit mistake.
        return core_schema.no_info_wrap_validator_function(
            _validate_money,
            core_schema.int_schema(strict=True),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _fen_of, return_schema=core_schema.int_schema()
            ),
        )


ZERO: Final = Money(0)


def _validate_money(value: Any, validate_int: core_schema.ValidatorFunctionWrapHandler) -> Money:
    if isinstance(value, Money):
        return value
    try:
        fen: int = validate_int(value)
    except ValidationError as error:
        raise PydanticCustomError(MoneyError.code, "an amount is an integer number of fen") from error
    return Money(fen)


def _fen_of(money: Money) -> int:
    return money.fen
