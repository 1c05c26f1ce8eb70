"""Display formatting for the pages: yuan from integer fen, Chinese capitals, Shanghai times. Pure."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from contracts.capitals import amount_in_capitals

SHANGHAI = ZoneInfo("Asia/Shanghai")


def yuan(fen: int | None) -> str:
    """12_345_678 -> "123,456.78" (integer arithmetic only; a negative amount keeps its sign)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def capitals(fen: int | None) -> str:
    return "—" if fen is None else amount_in_capitals(fen)


def shanghai(moment: datetime | None) -> str:
    """A stored UTC time as the bidder reads it: "2026-12-05 09:30" (Asia/Shanghai)."""
    if moment is None:
        return "—"
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def day(value: date | None) -> str:
    return "—" if value is None else value.isoformat()


def grouped(number: str, size: int = 4) -> str:
    """An account number in groups of four digits, as banks print it (spaces are harmless on input)."""
    return " ".join(number[i : i + size] for i in range(0, len(number), size))
