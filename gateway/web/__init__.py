"""Server-rendered web pages (Jinja2 + vendored htmx, no build step). The bidder portal lives under
/portal; its pages call the broker in process and apply the same object-level rules as the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from gateway.web.portal import router as portal_router
from gateway.web.session import SignInRequired, clear_session_cookie

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages and their static files (served by the gateway itself; no CDN)."""
    app.include_router(portal_router)
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.mount("/static/web", StaticFiles(directory=STATIC_DIR), name="web-static")


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    """No, an expired or an invalid token: back to sign-in, with the reason, and the cookie dropped."""
    assert isinstance(exc, SignInRequired)
    target = "/portal/login" + (f"?reason={quote(exc.reason)}" if exc.reason else "")
    response: Response
    if request.headers.get("hx-request") == "true":  # an htmx poll: make the whole page go there
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if exc.reason:
        clear_session_cookie(response, request.app.state.container)
    return response
