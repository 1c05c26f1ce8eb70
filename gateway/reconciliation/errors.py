"""Reconciliation errors (problem+json codes)."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import GatewayError, NotFound


class StatementRejected(GatewayError):
    """The file cannot be imported; nothing was applied. `location` names the line or element."""

    code: ClassVar[str] = "statement_parse_error"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "The statement file cannot be imported"


class UnknownFormat(GatewayError):
    code: ClassVar[str] = "unknown_statement_format"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Statement format is csv, camt053 or mt940"


class ResolutionRefused(GatewayError):
    code: ClassVar[str] = "resolution_refused"
    status: ClassVar[int] = 409
    title: ClassVar[str] = "The lines or items cannot be resolved this way"


class RunNotFound(NotFound):
    code: ClassVar[str] = "run_not_found"
    title: ClassVar[str] = "No such reconciliation run"


class LineNotFound(NotFound):
    code: ClassVar[str] = "statement_line_not_found"
    title: ClassVar[str] = "No such statement line"


class ItemNotFound(NotFound):
    code: ClassVar[str] = "ledger_item_not_found"
    title: ClassVar[str] = "No such ledger item on the center's escrow account"
