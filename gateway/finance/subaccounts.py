"""Virtual sub-account numbers (虚拟子账号) of the escrow account (保证金专户), one per bidder and section.

A bidder pays its cash deposit to its own sub-account, so the bank statement line names the
(bidder, section) it belongs to without anyone reading the payment's remark. Layout, digits only:

    <prefix: 1-20 digits> <serial: 8 digits, zero-padded> <check: 2 digits>

- The prefix is fixed per escrow account (the bank assigns it with the virtual-account service).
- The serial is allocated sequentially by the caller (a database sequence), not derived from the
  section code and the bidder's USCC: a hash of those into 8 digits would collide, and a collision
  would credit one bidder's deposit to another. The (section, bidder) -> serial mapping is stored.
- The check digits are ISO 7064 MOD 97-10 (as in IBAN) over prefix and serial: the whole number is
  ≡ 1 (mod 97). Every single-digit substitution is caught (it changes the number by d·10^k with
  0 < |d| < 10, never a multiple of the prime 97), and so is every swap of two adjacent different
  digits (a change of 9·(a-b)·10^k). Luhn misses the 09 <-> 90 swap; MOD 97-10 misses none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from gateway.errors import GatewayError

SERIAL_DIGITS: Final = 8
CHECK_DIGITS: Final = 2
MAX_PREFIX_DIGITS: Final = 20
MAX_SERIAL: Final = 10**SERIAL_DIGITS - 1
_ASCII_DIGITS: Final = frozenset("0123456789")


class SubaccountError(GatewayError):
    code: ClassVar[str] = "invalid_subaccount"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Not a valid escrow sub-account number"


@dataclass(frozen=True, slots=True)
class Subaccount:
    prefix: str
    serial: int

    def __post_init__(self) -> None:
        _check_prefix(self.prefix)
        if isinstance(self.serial, bool) or not isinstance(self.serial, int):
            raise SubaccountError(f"a serial is an int, got {type(self.serial).__name__}")
        if not 0 <= self.serial <= MAX_SERIAL:
            raise SubaccountError(f"a serial is 0..{MAX_SERIAL}, got {self.serial}")

    @property
    def number(self) -> str:
        payload = f"{self.prefix}{self.serial:0{SERIAL_DIGITS}d}"
        return payload + mod97_check_digits(payload)

    def __str__(self) -> str:
        return self.number


def mod97_check_digits(payload: str) -> str:
    """ISO 7064 MOD 97-10 check digits for a string of ASCII digits: 98 - (payload·100 mod 97)."""
    return f"{98 - int(payload + '00') % 97:02d}"


def make_subaccount(prefix: str, serial: int) -> str:
    """The sub-account number for the escrow account's `prefix` and an allocated `serial`."""
    return Subaccount(prefix, serial).number


def parse_subaccount(text: str, prefix: str | None = None) -> Subaccount:
    """Read a sub-account number as typed or printed (spaces between digit groups are harmless).

    With `prefix`, a number of another escrow account is refused too.
    """
    if not isinstance(text, str):
        raise SubaccountError(f"a sub-account number is text, got {type(text).__name__}")
    digits = "".join(text.split())
    if not digits or not set(digits) <= _ASCII_DIGITS:
        raise SubaccountError(f"a sub-account number has only digits 0-9: {text!r}")
    prefix_length = len(digits) - SERIAL_DIGITS - CHECK_DIGITS
    if not 1 <= prefix_length <= MAX_PREFIX_DIGITS:
        raise SubaccountError(
            f"a sub-account number has {SERIAL_DIGITS + CHECK_DIGITS + 1}.."
            f"{SERIAL_DIGITS + CHECK_DIGITS + MAX_PREFIX_DIGITS} digits, got {len(digits)}"
        )
    if int(digits) % 97 != 1:
        raise SubaccountError(f"wrong check digits in sub-account number {digits}")
    parsed = Subaccount(digits[:prefix_length], int(digits[prefix_length:-CHECK_DIGITS]))
    if prefix is not None and parsed.prefix != prefix:
        raise SubaccountError(f"sub-account {digits} does not belong to the escrow account {prefix}")
    return parsed


def is_valid_subaccount(text: str, prefix: str | None = None) -> bool:
    try:
        parse_subaccount(text, prefix)
    except SubaccountError:
        return False
    return True


def _check_prefix(prefix: str) -> None:
    if not isinstance(prefix, str) or not prefix or not set(prefix) <= _ASCII_DIGITS:
        raise SubaccountError(f"an escrow prefix is ASCII digits, got {prefix!r}")
    if len(prefix) > MAX_PREFIX_DIGITS:
        raise SubaccountError(f"an escrow prefix has at most {MAX_PREFIX_DIGITS} digits, got {len(prefix)}")
