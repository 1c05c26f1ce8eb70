"""统一社会信用代码 (USCC), GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》.

Eighteen characters from the 31-character alphabet 0-9 A-H J-N P-R T-U W-Y (no I, O, Z, S, V):

- 1: registration authority (登记管理部门代码), 2: organisation type (机构类别代码). Only the alphabet
  is checked: the code lists have grown since 2015 and an authority's new code must not lock a
  bidder out of a tender.
- 3-8: administrative division (登记管理机关行政区划码, GB/T 2260), six digits.
- 9-17: organisation code (主体标识码, GB 11714 for most bodies). Its own mod-11 check is not
  verified: codes issued to some bodies (e.g. 个体工商户) do not follow GB 11714.
- 18: check character (校验码): C18 = 31 - (Σ Ci·Wi mod 31), with 31 written as 0, where Ci is the
  character's index in the alphabet and Wi = 3**(i-1) mod 31 = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10
  30 28.

What the check character catches (both proved in tests/contracts/test_uscc.py exhaustively per sample):
every single-character substitution, since 31 is prime and no weight is 0 mod 31; and every swap of two
adjacent different characters, since adjacent weights differ (Wi+1 = 3·Wi), and for the swap of
positions 17 and 18 an undetected swap would need 27·(a-b) ≡ 0 mod 31, i.e. a = b.
"""

from __future__ import annotations

from typing import ClassVar, Final, Self

from contracts._str_schema import ValidatedStr
from contracts.errors import ContractValueError

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_LENGTH: Final = 18
_VALUE: Final = {char: value for value, char in enumerate(ALPHABET)}
_DIVISION: Final = range(2, 8)


class UsccError(ContractValueError):
    code: ClassVar[str] = "invalid_uscc"


def compute_check_character(first17: str) -> str:
    """The 18th character for the first 17 (which must be from the alphabet)."""
    if len(first17) != USCC_LENGTH - 1:
        raise UsccError(f"the check character is computed from 17 characters, got {len(first17)}")
    for position, char in enumerate(first17, start=1):
        if char not in _VALUE:
            raise UsccError(f"character {char!r} at position {position} is not in the USCC alphabet")
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


class Uscc(ValidatedStr):
    """A valid USCC in canonical form (upper case, no spaces). `Uscc.parse` normalises first."""

    __slots__ = ()

    error_type: ClassVar[type[ContractValueError]] = UsccError
    json_schema_extra: ClassVar[dict[str, object]] = {
        "minLength": USCC_LENGTH,
        "maxLength": USCC_LENGTH,
        "description": "统一社会信用代码 (GB 32100-2015), 18 characters with a check character",
    }

    @classmethod
    def check(cls, value: str) -> None:
        if len(value) != USCC_LENGTH:
            raise UsccError(f"a USCC has {USCC_LENGTH} characters, got {len(value)}")
        for position, char in enumerate(value, start=1):
            if char not in _VALUE:
                raise UsccError(f"character {char!r} at position {position} is not in the USCC alphabet")
            if position - 1 in _DIVISION and not char.isdigit():
                raise UsccError(
                    f"character {char!r} at position {position} must be a digit (administrative division)"
                )
        expected = compute_check_character(value[:17])
        if value[17] != expected:
            raise UsccError(f"wrong check character {value[17]!r} at position 18, expected {expected!r}")

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read a USCC typed or copied by a person: surrounding spaces and lower case are harmless."""
        if not isinstance(text, str):
            raise UsccError(f"a USCC is text, got {type(text).__name__}")
        return cls(text.strip().upper())

    @property
    def registration_authority(self) -> str:
        return self[0]

    @property
    def organisation_type(self) -> str:
        return self[1]

    @property
    def division_code(self) -> str:
        return self[2:8]

    @property
    def organisation_code(self) -> str:
        return self[8:17]

    @property
    def check_character(self) -> str:
        return self[17]


def is_valid_uscc(text: str) -> bool:
    """Whether `text` is a valid USCC after the same normalisation as `Uscc.parse`."""
    try:
        Uscc.parse(text)
    except UsccError:
        return False
    return True


def make_uscc(first17: str) -> Uscc:
    """Append the check character to 17 characters and validate the result (handy for tests and demos)."""
    return Uscc(first17 + compute_check_character(first17))
