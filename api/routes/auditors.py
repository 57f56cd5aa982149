"""Auditor authentication by DID-auth: `POST /api/v1/auth/challenge`, `/api/v1/auth/session`,
`/api/v1/auth/logout`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auditor_sessions import MAX_PRESENTATION_BYTES
from api.bodies import read_limited_body
from api.deps import AuditorSessionsDep, BearerToken, CurrentAuditor, refusal
from api.errors import AuditorRefused
from ledger_client.json_input import InvalidJson, loads

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class ChallengeOut(BaseModel):
    challenge: str = Field(description="sign a presentation over it, once")
    domain: str = Field(description="the presentation's proof domain: this API")
    expires_at: float = Field(description="Unix time after which it is refused")


class SessionOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`")
    auditor: str = Field(description="the authenticated holder's DID")
    expires_at: float


class AuditorOut(BaseModel):
    auditor: str


_PRESENTATION_BODY = {
    "required": True,
    "description": "a verifiable presentation without credentials, signed for authentication"
    f" over a challenge and this API's domain; at most {MAX_PRESENTATION_BYTES} bytes",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


@router.post(
    "/challenge",
    response_model=ChallengeOut,
    summary="A one-use challenge",
    responses={503: {"description": "too many challenges outstanding; retry after Retry-After"}},
)
def challenge(sessions: AuditorSessionsDep) -> ChallengeOut:
    try:
        issued = sessions.challenge()
    except AuditorRefused as exc:
        raise refusal(exc) from None
    return ChallengeOut(
        challenge=issued.challenge, domain=issued.domain, expires_at=issued.expires_at
    )


async def _read_presentation(request: Request) -> object:
    """The JSON body, refused with 413 as soon as it is known to exceed the limit."""
    body = await read_limited_body(
        request, MAX_PRESENTATION_BYTES, advice="send a bare DID-auth presentation"
    )
    try:
        return loads(body, max_bytes=MAX_PRESENTATION_BYTES)
    except InvalidJson as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not JSON: {exc}") from None


@router.post(
    "/session",
    response_model=SessionOut,
    summary="Open an auditor session with a verifiable presentation",
    responses={
        400: {"description": "not a JSON object, or it carries credentials"},
        401: {"description": "refused"},
        403: {"description": "not an auditor"},
        413: {"description": f"the body exceeds {MAX_PRESENTATION_BYTES} bytes"},
        502: {"description": "the chain refused the role read (not an outage)"},
        503: {"description": "the chain did not answer"},
    },
    openapi_extra={"requestBody": _PRESENTATION_BODY},
)
async def session(request: Request, sessions: AuditorSessionsDep) -> SessionOut:
    presentation = await _read_presentation(request)
    # Signature checks and the chain read block: off the event loop.
    try:
        opened = await run_in_threadpool(sessions.open, presentation)
    except AuditorRefused as exc:
        raise refusal(exc) from None
    return SessionOut(token=opened.token, auditor=opened.auditor, expires_at=opened.expires_at)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the auditor session of the bearer token",
    responses={401: {"description": "no such session"}},
)
def logout(sessions: AuditorSessionsDep, token: BearerToken) -> Response:
    if not sessions.close(token):
        raise refusal(AuditorRefused("no valid auditor session to end"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/whoami", response_model=AuditorOut, summary="The authenticated auditor")
def whoami(auditor: CurrentAuditor) -> AuditorOut:
    return AuditorOut(auditor=auditor)
