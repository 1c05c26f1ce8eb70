"""Public verification, without authentication: `GET /v1/verify` (JSON) and `GET /verify` (the page the
letter's QR code opens, `{base_url}/verify?no=...&code=...`; see signing.letter.model.LetterData).

Both share one token bucket per client address (`verify_rate_per_minute`, `verify_rate_burst` in
Settings; per process, see gateway.verify.ratelimit) and answer `Cache-Control: no-store` and
`Referrer-Policy: no-referrer`: the code is in the URL and must not linger in caches or leak onwards.
The client address is the connection's peer; behind a reverse proxy run uvicorn with its proxy
headers trusted for that proxy only, or every client shares the proxy's bucket.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from gateway.claims.rules import shanghai_date
from gateway.composition import container_of
from gateway.errors import NotFound
from gateway.http.schemas import PROBLEM_RESPONSES
from gateway.verify import page, service
from gateway.verify.ratelimit import TokenBucketLimiter
from gateway.verify.schemas import VerificationOut

router = APIRouter(tags=["verify"])
PRIVATE: Final = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_RATE_LIMITED: Final = {
    **PROBLEM_RESPONSES[404],
    "description": "rate_limited (with Retry-After seconds)",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
}


class NoMatch(NotFound):
    """Unknown number or wrong code: one answer for both (no oracle)."""

    code = "verification_no_match"
    title = "No guarantee matches this number and code"


def _limiter(request: Request) -> TokenBucketLimiter:
    limiter = getattr(request.app.state, "verify_limiter", None)
    if limiter is None:
        settings = container_of(request).settings
        limiter = TokenBucketLimiter(
            per_minute=settings.verify_rate_per_minute, burst=settings.verify_rate_burst
        )
        request.app.state.verify_limiter = limiter
    assert isinstance(limiter, TokenBucketLimiter)
    return limiter


async def retry_after(request: Request) -> int:
    """Seconds this client must wait (0: go ahead; a token was taken). Runs on the event loop, so the
    limiter is created once per app without a race."""
    client = request.client.host if request.client is not None else "unknown"
    return _limiter(request).take(client)


def _verify(request: Request, no: str, code: str) -> service.Verified | None:
    container = container_of(request)
    with container.sessions() as session:
        return service.verify(session, no, code, today=shanghai_date(container.clock()))


Number = Annotated[str, Query(max_length=64, description="The guarantee number (保函编号)")]
Code = Annotated[str, Query(max_length=64, description="The verification code (验证码) on the letter")]


@router.get(
    "/v1/verify",
    response_model=VerificationOut,
    responses={404: {**PROBLEM_RESPONSES[404], "description": "verification_no_match"}, 429: _RATE_LIMITED},
)
def verify_json(
    request: Request, response: Response, no: Number, code: Code, wait: int = Depends(retry_after)
) -> VerificationOut:
    """Is this guarantee genuine and in force? Needs the number and the verification code printed on
    the letter; an unknown number and a wrong code get the same 404. Rate limited per client address."""
    if wait:
        raise HTTPException(429, "Too many verification requests; retry later", {"Retry-After": str(wait)})
    found = _verify(request, no, code)
    if found is None:
        raise NoMatch("no guarantee matches this number and code")
    response.headers.update(PRIVATE)
    return VerificationOut(
        valid=found.valid,
        guarantee_no=found.guarantee_no,
        institution_name=found.institution_name,
        applicant_name=found.applicant_name,
        beneficiary_name=found.beneficiary_name,
        amount_fen=found.amount_fen,
        amount_capitals=found.amount_capitals,
        cover_start=found.cover_start,
        cover_end=found.cover_end,
        status=found.status,
        status_zh=found.status_zh,
        letter_sm3=found.letter_sm3,
    )


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_page(
    request: Request,
    no: Annotated[str, Query(max_length=64)] = "",
    code: Annotated[str, Query(max_length=64)] = "",
    wait: int = Depends(retry_after),
) -> HTMLResponse:
    headers = {**PRIVATE, "Content-Security-Policy": page.CONTENT_SECURITY_POLICY}
    if wait:
        return HTMLResponse(page.render_rate_limited(wait), 429, {**headers, "Retry-After": str(wait)})
    if not no and not code:
        return HTMLResponse(page.render_form(), 200, headers)
    found = _verify(request, no, code)
    if found is None:
        return HTMLResponse(page.render_not_found(no, code), 404, headers)
    return HTMLResponse(page.render_found(found), 200, headers)
