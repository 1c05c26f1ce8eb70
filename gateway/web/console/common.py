"""What every console page shares: the finance session (its subject is the center: every read and
action is scoped to it, anyone else's object is the not-found page), rendering with the center's
name, readable refusals of bad form input, and the finance API's exports called in process."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from gateway.auth.caller import Caller
from gateway.composition import container_of
from gateway.errors import GatewayError
from gateway.sections.tables import Center
from gateway.web.messages import message_for
from gateway.web.once import Once, new_form_key, run_once
from gateway.web.pages import not_found, render, see_other
from gateway.web.session import CONSOLE, WebSession, acting, signed_in

Me = Annotated[WebSession, Depends(signed_in(CONSOLE))]
Acting = Annotated[WebSession, Depends(acting(CONSOLE))]  # a form post: signed in, and its CSRF matches
EXPORT_FORMATS: Final = ("csv", "xlsx")
FormatParam = Annotated[str, Query(alias="format")]  # an export's file format: csv or xlsx


def page(
    request: Request, me: WebSession, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    with container_of(request).sessions() as session:
        center = session.get(Center, me.subject)
        center_name = center.name if center is not None else None
    full = {"me": me, "area": CONSOLE, "center_name": center_name, "form_key": new_form_key(), **context}
    return render(request, f"console/{template}", full, status_code)


def invalid(exc: ValidationError, fields: Mapping[str, str]) -> str:
    """A pydantic refusal of form input as one sentence naming the fields (in the page's words)."""
    names = dict.fromkeys(fields.get(str(error["loc"][0]), str(error["loc"][0])) for error in exc.errors())
    return f"{message_for('validation_error')}请检查：{'、'.join(names)}。"


def act(
    request: Request,
    me: WebSession,
    *,
    form_key: str,
    fingerprint: str,
    work: Callable[[], str],
    on_refusal: Callable[[str, int], Response],
) -> Response:
    """Run a form's action once (gateway.web.once): on success go to the location `work` returns (a
    repeated submit goes there too); on a refusal show `on_refusal(message, status)`."""
    outcome: Once = run_once(
        container_of(request), caller=me.caller.key, form_key=form_key, path=request.url.path,
        fingerprint=fingerprint, work=work,
    )  # fmt: skip
    if outcome.done:
        return see_other(outcome.body)
    return on_refusal(message_for(outcome.body), outcome.status)


FileFormat = Literal["csv", "xlsx"]
_ID: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def plain_id(value: str) -> bool:
    """An id as the services make them: anything else (control characters, PostgreSQL refuses NUL)
    is not looked up at all, it is simply not found."""
    return _ID.match(value) is not None


def export(request: Request, me: WebSession, fmt: str, call: Callable[[Caller, FileFormat], Any]) -> Response:
    """A file from the finance API's own export (same columns, same rows, same object-level rule),
    called in process with this session's identity."""
    if fmt not in EXPORT_FORMATS:
        return not_found(request, me)
    kind: FileFormat = "csv" if fmt == "csv" else "xlsx"
    try:
        response = call(me.caller, kind)
    except GatewayError as exc:
        if exc.status == 404:
            return not_found(request, me)
        raise
    assert isinstance(response, Response)
    return response
