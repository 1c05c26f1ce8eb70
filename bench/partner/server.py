"""The app uvicorn serves for bench/partner: the real gateway app, plus the same routes reachable
without a signature under /unsigned/... (the caller is set as the signature would have set it).

Everything else is shared: the same middleware stack (request context, limits, idempotency), the same
endpoint and database; the unsigned path only skips what signing costs (parse, key lookup, SM2
verify, nonce insert, SM2 signature of the response). Never used outside the benchmark.
"""

from __future__ import annotations

import os

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.app import create_app
from gateway.auth.caller import Caller, set_caller
from gateway.composition import build_container
from gateway.settings import load_settings

PREFIX = "/unsigned"


class UnsignedMount:
    def __init__(self, app: ASGIApp, caller: Caller) -> None:
        self.app = app
        self.caller = caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            path = scope["path"][len(PREFIX) :]
            scope = {**scope, "path": path, "raw_path": path.encode(), "state": {}}
            set_caller(scope, self.caller)
        await self.app(scope, receive, send)


def app() -> ASGIApp:
    container = build_container(load_settings())
    caller = Caller(kind="institution", subject=os.environ["BENCH_PARTNER_CODE"])
    return UnsignedMount(create_app(container), caller)
