"""Helpers for the page tests (portal and console): sign in through the form, read hidden fields."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

_HIDDEN = re.compile(r'name="(?P<name>csrf|pay_key|form_key)" value="(?P<value>[^"]*)"')


def hidden(html: str, name: str) -> str:
    values = [m.group("value") for m in _HIDDEN.finditer(html) if m.group("name") == name]
    assert values, f"no hidden field {name!r} in the page"
    return values[0]


def sign_in(client: TestClient, token: str, area: str = "portal") -> Response:
    page = client.get(f"/{area}/login")
    assert page.status_code == 200
    response: Response = client.post(
        f"/{area}/login", data={"token": token, "csrf": hidden(page.text, "csrf")}, follow_redirects=False
    )
    return response
