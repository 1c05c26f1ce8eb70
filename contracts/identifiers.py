"""Small validated identifiers that cross boundaries: a tender section's code and a guarantee's number.

Both are exact (no case folding or trimming): a section code is the trading center's key, and a
guarantee number is typed from a letter whose verification must not match a look-alike. How numbers are
made unguessable is the issuer's business (domain.md, Identifiers); here only the shape is checked.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

from contracts._str_schema import ValidatedStr
from contracts.errors import ContractValueError

# ASCII only, explicitly: \w and [0-9] in a str pattern would also admit other scripts' letters.
_SECTION_CODE: Final = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
_GUARANTEE_NO: Final = re.compile(r"[A-Z0-9-]{8,40}", re.ASCII)


class SectionCodeError(ContractValueError):
    code: ClassVar[str] = "invalid_section_code"


class GuaranteeNoError(ContractValueError):
    code: ClassVar[str] = "invalid_guarantee_no"


class SectionCode(ValidatedStr):
    """A tender section's code (标段编号) as the trading center publishes it: 1-64 of A-Z a-z 0-9 . _ -."""

    __slots__ = ()

    error_type: ClassVar[type[ContractValueError]] = SectionCodeError
    json_schema_extra: ClassVar[dict[str, object]] = {"pattern": f"^{_SECTION_CODE.pattern}$"}

    @classmethod
    def check(cls, value: str) -> None:
        if _SECTION_CODE.fullmatch(value) is None:
            raise SectionCodeError(f"a section code is 1-64 characters of A-Z a-z 0-9 . _ -, got {value!r}")


class GuaranteeNo(ValidatedStr):
    """A guarantee letter's number (保函编号): 8-40 of A-Z 0-9 and -."""

    __slots__ = ()

    error_type: ClassVar[type[ContractValueError]] = GuaranteeNoError
    json_schema_extra: ClassVar[dict[str, object]] = {"pattern": f"^{_GUARANTEE_NO.pattern}$"}

    @classmethod
    def check(cls, value: str) -> None:
        if _GUARANTEE_NO.fullmatch(value) is None:
            raise GuaranteeNoError(f"a guarantee number is 8-40 characters of A-Z 0-9 -, got {value!r}")
