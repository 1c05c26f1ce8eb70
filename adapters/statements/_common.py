"""Checks shared by the statement parsers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from contracts.statements import Statement, StatementParseError

# Placeholders banks write where they have no reference; never a key for duplicate detection.
_NO_REFERENCE: Final = frozenset({"", "NONREF", "NOTPROVIDED", "NONE"})


def reject_duplicate_bank_references(statements: Iterable[Statement]) -> None:
    """A bank reference names one movement of one account; twice in a file would double-count it.

    Per account: a transfer between two accounts of the same customer appears in both statements under
    the same bank reference (betterplace/sepa_mt9401.sta), once as a debit and once as a credit.
    """
    first_seen: dict[tuple[str, str], str] = {}
    for statement in statements:
        for line in statement.lines:
            reference = (line.bank_reference or "").strip()
            if reference.upper() in _NO_REFERENCE:
                continue
            key = (statement.account, reference)
            if key in first_seen:
                raise StatementParseError(
                    line.source_location,
                    f"bank reference {reference!r} is duplicated (first at {first_seen[key]})",
                )
            first_seen[key] = line.source_location
