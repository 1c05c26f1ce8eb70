"""The finance console (/console): server-rendered pages for a center's finance staff, over the
deposits and reconciliation services called in process. Sign in with a finance token (role finance,
subject = the center); every page and action is scoped to that center, anyone else's object is the
not-found page, as in the finance API."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.web.console import deposits, ledger, refunds, statements
from gateway.web.pages import add_sign_in
from gateway.web.session import CONSOLE

router = APIRouter(prefix="/console", include_in_schema=False)
add_sign_in(router, CONSOLE)
for part in (deposits, refunds, statements, ledger):
    router.include_router(part.router)
