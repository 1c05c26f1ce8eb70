"""Console: the ledger check (`book.check()`, the same call `gateway ledger check` makes): every balance
recomputed from the entries, every hash chain and invariant verified. It reads the whole book, so it
runs on a button (a POST), not on every visit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gateway.composition import container_of
from gateway.web.console.common import Acting, Me, page
from ledger import LedgerError, open_ledger

router = APIRouter()


@router.get("/ledger", response_class=HTMLResponse)
def ledger(request: Request, me: Me) -> Response:
    return page(request, me, "ledger.html", {"nav": "ledger", "report": None})


@router.post("/ledger/check", response_class=HTMLResponse)
def check(request: Request, me: Acting) -> Response:
    container = container_of(request)
    checked_at = container.clock()
    try:
        report = open_ledger(container.engine).check()
    except LedgerError as exc:
        context = {"nav": "ledger", "report": None, "error": f"账簿无法核验：{exc.code}（{exc.message}）"}
        return page(request, me, "ledger.html", context, 503)
    return page(request, me, "ledger.html", {"nav": "ledger", "report": report, "checked_at": checked_at})
