"""Credential verification for auditors: `POST /api/v1/credentials/verify`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CredentialVerifierDep, CurrentAuditor
from ledger_client.chain import CHAIN_UNREACHABLE

router = APIRouter(prefix="/api/v1/credentials", tags=["credentials"])

# One request verifies at most this many: a scan page shows about 50.
MAX_CREDENTIALS = 200


class CheckOut(BaseModel):
    name: str
    outcome: Literal["passed", "failed", "not_checked"]
    detail: str


class ReportOut(BaseModel):
    valid: bool = Field(description="true only when every check passed")
    checks: list[CheckOut]


@router.post(
    "/verify",
    response_model=list[ReportOut],
    summary="Verify credentials against the chain (auditors)",
    responses={
        401: {"description": "no auditor session"},
        502: {"description": "the chain refused a read (not an outage); no verdict"},
        503: {"description": "the chain did not answer; no verdict"},
    },
)
async def verify(
    auditor: CurrentAuditor,
    verifier: CredentialVerifierDep,
    credentials: Annotated[
        list[dict[str, Any]],
        Body(description="verifiable credentials (JSON-LD), as issued", max_length=MAX_CREDENTIALS),
    ],
) -> list[ReportOut]:
    """Each credential's report, in order: proof, schema, anchored, not revoked, not
    suspended, issuer trusted at issuance, not expired, subject bound."""
    try:
        reports = await run_in_threadpool(verifier.verify_many, credentials)
    except CHAIN_UNREACHABLE as exc:
        raise HTTPException(503, f"the chain did not answer ({type(exc).__name__})") from None
    return [ReportOut.model_validate(report.to_json()) for report in reports]
