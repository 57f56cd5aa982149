"""The access trail over HTTP: `GET /api/v1/trail`, an auditor's own organization's entries,
every entry for an auditor whose organization governs the consortium."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CurrentAuditor
from api.principals import Authenticator
from api.store.trail import MAX_PAGE, TrailStore

router = APIRouter(prefix="/api/v1", tags=["trail"])


class TrailEntryOut(BaseModel):
    seq: int
    at: str
    principal: str = Field(description="the token id, or `session:` and a session digest")
    organization: str
    role: str
    method: str
    path: str
    query: str
    status: int
    previous: str = Field(description="the previous entry's hash (hex)")
    hash: str


class TrailPageOut(BaseModel):
    entries: list[TrailEntryOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null: none")


@router.get(
    "/trail",
    response_model=TrailPageOut,
    summary="Who called this API: the access trail (auditors)",
    responses={
        401: {"description": "no valid token or session"},
        403: {"description": "not an auditor, or another organization's entries asked for"},
        404: {"description": "this server keeps no access trail"},
    },
)
async def trail(
    request: Request,
    auditor: CurrentAuditor,
    after: Annotated[int, Query(ge=0, description="entries numbered above this")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    organization: Annotated[
        str | None, Query(description="governors: only this organization's entries")
    ] = None,
) -> TrailPageOut:
    store: TrailStore | None = request.app.state.trail
    if store is None:
        raise HTTPException(404, "this server keeps no access trail")
    authenticator: Authenticator = request.app.state.authenticator
    governs = await run_in_threadpool(authenticator.governs, auditor)
    if not governs:
        if organization not in (None, auditor):
            raise HTTPException(403, "only a governor reads other organizations' entries")
        organization = auditor
    page = await run_in_threadpool(store.page, after=after, limit=limit, organization=organization)
    entries = [
        TrailEntryOut(**asdict(stored.entry), previous=stored.previous, hash=stored.hash)
        for stored in page
    ]
    return TrailPageOut(
        entries=entries, next_after=entries[-1].seq if len(entries) == limit else None
    )
