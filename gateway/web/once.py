"""Form posts that act once: every such form carries a random key rendered into it, and the post runs
through the same idempotency store the API's Idempotency-Key uses (scoped to the signed-in caller).
The first submit claims the key and acts; a repeat (a double click, a resent form) waits for it and
gets its outcome, so paying, refunding or forfeiting never happens twice from one form."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from gateway.composition import Container
from gateway.errors import GatewayError
from gateway.idempotency import service as idempotency
from gateway.idempotency.service import IdempotencyPolicy, Outcome, StoredResponse
from signing.sm3 import sm3_hex

FORM_KEY: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
WAIT_S: Final = 30.0  # how long a repeat waits for the first submit to finish
DONE: Final = 303


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Once:
    """The outcome of the first submit: DONE with what `work` returned, or a refusal's status and its
    problem code."""

    status: int
    body: str

    @property
    def done(self) -> bool:
        return self.status == DONE


def run_once(
    container: Container,
    *,
    caller: str,
    form_key: str,
    path: str,
    fingerprint: str,
    work: Callable[[], str],
    busy_code: str = "request_in_progress",
) -> Once:
    """Run `work` once per (caller, form key). `fingerprint` names what the form asks (the same key with
    other content is refused). `work` returns what the page needs afterwards (a location) or raises a
    GatewayError, whose status and code are kept as the outcome."""
    if FORM_KEY.match(form_key) is None:
        return Once(422, "validation_error")

    def claim() -> idempotency.Claim:
        return idempotency.claim(
            container.sessions, caller=caller, key=f"web-form:{form_key}", method="POST", path=path,
            request_hash=sm3_hex(fingerprint.encode()), now=container.clock(), policy=IdempotencyPolicy(),
        )  # fmt: skip

    first = claim()
    deadline = time.monotonic() + WAIT_S
    while first.outcome is Outcome.IN_FLIGHT and time.monotonic() < deadline:
        time.sleep(0.2)
        first = claim()
    if first.outcome is Outcome.IN_FLIGHT:
        return Once(409, busy_code)
    if first.outcome is Outcome.MISMATCH:
        return Once(422, "validation_error")
    if first.outcome is Outcome.REPLAY:
        assert first.response is not None
        return Once(first.response.status, first.response.body.decode(errors="replace"))
    assert first.record_id is not None
    try:
        outcome = Once(DONE, work())
    except GatewayError as exc:
        outcome = Once(exc.status, exc.code)
    except BaseException:
        idempotency.release(container.sessions, first.record_id)
        raise
    stored = StoredResponse(status=outcome.status, headers=[], body=outcome.body.encode())
    idempotency.complete(container.sessions, first.record_id, stored)
    return outcome
