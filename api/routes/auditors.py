"""Auditor authentication by DID-auth: `POST /api/v1/auth/challenge`, `/api/v1/auth/session`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import AuditorSessionsDep, CurrentAuditor

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


@router.post("/challenge", response_model=ChallengeOut, summary="A one-use challenge")
def challenge(sessions: AuditorSessionsDep) -> ChallengeOut:
    issued = sessions.challenge()
    return ChallengeOut(
        challenge=issued.challenge, domain=issued.domain, expires_at=issued.expires_at
    )


@router.post(
    "/session",
    response_model=SessionOut,
    summary="Open an auditor session with a verifiable presentation",
    responses={401: {"description": "refused"}, 403: {"description": "not an auditor"}},
)
async def session(
    sessions: AuditorSessionsDep,
    presentation: Annotated[dict[str, Any], Body(description="a VP signed for authentication")],
) -> SessionOut:
    # Signature checks and the chain read block: off the event loop.
    opened = await run_in_threadpool(sessions.open, presentation)
    return SessionOut(token=opened.token, auditor=opened.auditor, expires_at=opened.expires_at)


@router.get("/whoami", response_model=AuditorOut, summary="The authenticated auditor")
def whoami(auditor: CurrentAuditor) -> AuditorOut:
    return AuditorOut(auditor=auditor)
