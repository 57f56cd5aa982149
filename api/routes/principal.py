"""Who the bearer is: `GET /api/v1/me`, for any authenticated user (token or session)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentPrincipal

router = APIRouter(prefix="/api/v1", tags=["principal"])


class PrincipalOut(BaseModel):
    id: str
    organization: str
    role: str


@router.get(
    "/me",
    response_model=PrincipalOut,
    summary="The authenticated principal",
    responses={
        401: {"description": "no bearer, or an unknown, expired or revoked one"},
        403: {"description": "the organization is deactivated or lacks the role on chain"},
        503: {"description": "the chain did not answer"},
    },
)
def me(principal: CurrentPrincipal) -> PrincipalOut:
    return PrincipalOut(
        id=principal.id, organization=principal.organization, role=principal.role.name
    )
