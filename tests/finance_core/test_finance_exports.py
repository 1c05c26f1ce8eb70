from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook

from gateway.finance.exports import Cell, Column, export, yuan

COLUMNS = [Column("投标人"), Column("金额(元)", fen=True), Column("到账时间")]
ROWS: list[list[Cell]] = [
    ["深圳甲建设有限公司", 12345678, datetime(2026, 3, 1, 16, 30, tzinfo=UTC)],
    ["乙", 1, None],
]


def test_yuan_is_exact_from_integer_fen() -> None:
    assert yuan(12345678) == Decimal("123456.78")
    assert yuan(1) == Decimal("0.01")
    assert yuan(10**17 + 1) == Decimal("1000000000000000.01")


def test_csv_has_a_bom_chinese_headers_yuan_and_shanghai_times() -> None:
    text = export("csv", "deposits", COLUMNS, ROWS).decode("utf-8")
    assert text.startswith("\ufeff投标人,金额(元),到账时间\r\n")
    assert "深圳甲建设有限公司,123456.78,2026-03-02 00:30:00\r\n" in text
    assert text.endswith("乙,0.01,\r\n")


def test_xlsx_reads_back_with_the_same_values() -> None:
    workbook = load_workbook(io.BytesIO(export("xlsx", "deposits", COLUMNS, ROWS)))
    sheet = workbook["deposits"]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ["投标人", "金额(元)", "到账时间"]
    assert values[1][0] == "深圳甲建设有限公司"
    assert Decimal(str(values[1][1])) == Decimal("123456.78")
    # Spreadsheets hold naive times: this one is Asia/Shanghai wall time.
    assert values[1][2] == datetime(2026, 3, 2, 0, 30, tzinfo=UTC).replace(tzinfo=None)
    assert sheet["B2"].number_format == "#,##0.00"
