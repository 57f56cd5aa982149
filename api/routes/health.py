"""Liveness and readiness of the bridge: `GET /healthz`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import HealthProbe, HealthProbeDep
from ledger_client.errors import ChainRejected
from oracle_bridge.ingest import CHAIN_REFUSED_CONDITION

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: bool | None = Field(description="the bridge database answers (null: not checked)")
    chain: bool | None = Field(
        description="the chain's node can be reached (null: not checked); one that answers "
        "with refusals is reachable, and raises the chain_refused condition"
    )
    inbox_backlog: int | None = Field(
        description="accepted readings not yet in an anchoring window (null: unknown)"
    )
    conditions: dict[str, str] = Field(
        default_factory=dict,
        description="troubles the bridge noticed in itself, e.g. a failing store, a chain "
        "that lost anchored transactions or one that refuses the bridge's reads (name to "
        "description)",
    )


def _check(probe: HealthProbe) -> Health:
    database = probe.database_reachable()
    conditions = probe.conditions()
    try:
        chain = probe.chain_reachable()
    except ChainRejected as exc:  # it answers, with a refusal: not an outage
        chain = True
        conditions = {**conditions, CHAIN_REFUSED_CONDITION: str(exc)}
    backlog = probe.inbox_backlog() if database else None
    return Health(
        status="ok" if database and chain and not conditions else "degraded",
        database=database,
        chain=chain,
        inbox_backlog=backlog,
        conditions=conditions,
    )


@router.get(
    "/healthz",
    response_model=Health,
    summary="Bridge health",
    responses={
        503: {
            "model": Health,
            "description": "the database or the chain is unreachable, or a condition is raised",
        }
    },
)
async def healthz(probe: HealthProbeDep, response: Response) -> Health:
    """`ok` (200) when the bridge's database and chain node answer and it noticed no trouble in
    itself, else `degraded` (503)."""
    if probe is None:
        return Health(status="ok", database=None, chain=None, inbox_backlog=None)
    health = await run_in_threadpool(_check, probe)
    if health.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return health
