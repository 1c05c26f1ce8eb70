"""Statement import parsers: SWIFT MT940, ISO 20022 CAMT.053 and the CSV that Chinese banks export.

Each module has `parse(data: bytes) -> list[Statement]` that returns every statement in the file or
raises `contracts.statements.StatementParseError` at the first problem (nothing partial). Decisions
about lenient versus strict reading are in README.md beside this file.
"""

from contracts.statements import Statement, StatementLine, StatementParseError

__all__ = ["Statement", "StatementLine", "StatementParseError"]
