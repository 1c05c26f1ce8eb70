"""Server-rendered web pages (Jinja2 + vendored htmx, no build step): the bidder portal under /portal,
the finance console under /console (both call the services in process and apply the same object-level
rules as the API) and the layout the public verification page (/verify) shares."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles

from gateway.composition import container_of
from gateway.web.console import router as console_router
from gateway.web.pages import refused, see_other
from gateway.web.portal import router as portal_router
from gateway.web.session import CsrfRefused, SignInRequired, clear_session_cookie

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages and their static files (served by the gateway itself; no CDN)."""
    app.include_router(portal_router)
    app.include_router(console_router)
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.mount("/static/web", StaticFiles(directory=STATIC_DIR), name="web-static")


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    """No, an expired or an invalid token: back to sign-in, with the reason, and the cookie dropped."""
    assert isinstance(exc, SignInRequired)
    target = f"{exc.area.path}/login" + (f"?reason={quote(exc.reason)}" if exc.reason else "")
    response: Response
    if request.headers.get("hx-request") == "true":  # an htmx poll: make the whole page go there
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = see_other(target)
    if exc.reason:
        clear_session_cookie(response, container_of(request), exc.area)
    return response


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    """A form post whose CSRF token is not the session's: say so, do nothing."""
    assert isinstance(exc, CsrfRefused)
    return refused(request, exc.me, "csrf_failed", 403)
