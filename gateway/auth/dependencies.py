"""FastAPI dependencies that turn the authenticated caller into a typed argument, per role."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth.caller import Caller, caller_of
from gateway.errors import Forbidden, Unauthorized

# Declares the bearer scheme in OpenAPI; the middleware has already verified the token.
bearer_scheme = HTTPBearer(auto_error=False, description="gw1 bearer token (`gateway users token`)")


def require_role(*roles: str) -> Callable[..., Caller]:
    def dependency(
        request: Request, _credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
    ) -> Caller:
        caller = caller_of(request.scope)
        if caller is None:
            raise Unauthorized("This call needs a bearer token")
        if caller.kind not in roles:
            raise Forbidden(f"This call is for {' or '.join(roles)}, not {caller.kind}")
        return caller

    return dependency
