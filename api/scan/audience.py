"""Who a scan is shown to: the public, or a member presenting one of the API's bearer tokens
(or an auditor session), who also sees each step's event record and the raw readings.

A token that is missing, unknown, expired, revoked, out of standing on chain or over its
budget makes the request a public one: a scan never answers with an authentication error.
"""

from __future__ import annotations

from fastapi import Request

from api.errors import AccessRefused
from api.principals import Authenticator
from api.rate_limit import RateLimiter


def shows_details(request: Request, *, to_public: bool) -> bool:
    """Whether this request is shown the details: always when `to_public`, else only with a
    bearer token the API honours now. An honoured request's principal is left on
    `request.state`, so the access trail records who saw them."""
    if to_public:
        return True
    authenticator: Authenticator | None = request.app.state.authenticator
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if authenticator is None or scheme.lower() != "bearer" or not bearer:
        return False
    try:
        principal = authenticator.principal(bearer.strip())
    except AccessRefused:
        return False
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None and limiter.admit(principal.id) is not None:
        return False
    request.state.principal = principal
    return True
