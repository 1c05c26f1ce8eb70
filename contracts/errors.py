"""The base of the typed errors raised when a contract value is malformed.

Each subclass carries a stable machine `code` (style.md, "Errors have codes"); the gateway maps them to
problem+json, and the pydantic schemas in this package report the same code as the error type.
"""

from __future__ import annotations

from typing import ClassVar


class ContractValueError(ValueError):
    """A value that cannot be a valid contract value (an amount, a USCC, an identifier)."""

    code: ClassVar[str] = "invalid_value"
