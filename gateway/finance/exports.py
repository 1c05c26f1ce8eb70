"""Tables for finance staff: the same rows as CSV (UTF-8 with BOM, so Excel opens Chinese text right)
or as an xlsx workbook. Amounts arrive as integer fen and leave as yuan with two decimals, formatted
from the integer: never a float on the way."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

SHANGHAI = ZoneInfo("Asia/Shanghai")
Cell = str | int | Decimal | date | datetime | None
ExportFormat = Literal["csv", "xlsx"]
CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    """One column: its header (shown to people, Chinese first) and whether it holds fen."""

    header: str
    fen: bool = False


def yuan(fen: int) -> Decimal:
    """Exact yuan for a fen amount (Decimal, two places)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _cell(value: Cell, column: Column) -> Cell:
    if column.fen and isinstance(value, int):
        return yuan(value)
    if isinstance(value, datetime):
        # Stored UTC, shown in the center's time; spreadsheets want naive local times.
        return value.astimezone(SHANGHAI).replace(tzinfo=None)
    return value


def to_csv(columns: Sequence[Column], rows: Iterable[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.header for column in columns])
    for row in rows:
        cells = [_cell(value, column) for value, column in zip(row, columns, strict=True)]
        writer.writerow(["" if cell is None else _text(cell) for cell in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _text(cell: Cell) -> str:
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M:%S")
    return str(cell)


def to_xlsx(title: str, columns: Sequence[Column], rows: Iterable[Sequence[Cell]]) -> bytes:
    workbook = Workbook(write_only=False)
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]  # Excel's limit on sheet names
    sheet.append([column.header for column in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(value, column) for value, column in zip(row, columns, strict=True)])
    for index, column in enumerate(columns, start=1):
        if column.fen:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export(fmt: ExportFormat, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Cell]]) -> bytes:
    return to_csv(columns, rows) if fmt == "csv" else to_xlsx(title, columns, rows)
