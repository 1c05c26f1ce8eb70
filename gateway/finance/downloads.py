"""A finance report as an HTTP file download (CSV or xlsx), for every finance API list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from starlette.responses import Response

from gateway.finance.exports import CONTENT_TYPES, Cell, Column, export


def download(fmt: str, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> Response:
    """`fmt` "csv" gives CSV; anything else (the lists accept "xlsx") gives a workbook."""
    kind: Literal["csv", "xlsx"] = "csv" if fmt == "csv" else "xlsx"
    return Response(
        export(kind, title, columns, rows),
        media_type=CONTENT_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{title}.{kind}"'},
    )
