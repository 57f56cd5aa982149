"""Credentials over HTTP: `POST /api/v1/credentials/verify` for auditors, and
`GET /api/v1/credentials?subject=DID` (the stored credentials about a subject, each with its
live status as the verifier sees it) for any authenticated user."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CredentialVerifierDep, CurrentAuditor, CurrentPrincipal
from credentials.errors import UnsupportedDid
from credentials.identities import require_supported_did
from credentials.issue import credential_hash
from credentials.report import LiveStatus, live_status
from credentials.store import CredentialStore
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


class SubjectCredentialOut(BaseModel):
    credential_hash: str
    type: str
    issuer: str
    issued: str
    expires: str | None
    status: LiveStatus = Field(
        description="the first failed of anchored, not revoked, not suspended, not expired; "
        "INVALID for any other failed check; VALID when all passed"
    )
    report: ReportOut
    credential: dict[str, Any]


@router.get(
    "",
    response_model=list[SubjectCredentialOut],
    summary="The credentials about a subject, each with its live status",
    responses={
        401: {"description": "no valid token or session"},
        404: {"description": "this server keeps no credentials or verifies none"},
        422: {"description": "`subject` is not an accepted DID"},
        503: {"description": "the chain did not answer; no status"},
    },
)
async def of_subject(
    request: Request,
    principal: CurrentPrincipal,
    verifier: CredentialVerifierDep,
    subject: Annotated[str, Query(description="the subject's DID (did:pkh or did:key)")],
) -> list[SubjectCredentialOut]:
    """Oldest issued first, as stored by `provenance credential issue`; statuses are read
    from the chain now."""
    store: CredentialStore | None = request.app.state.credential_store
    if store is None:
        raise HTTPException(404, "this server keeps no credentials")
    try:
        require_supported_did(subject)
    except UnsupportedDid as exc:
        raise HTTPException(422, str(exc)) from None
    vcs = await run_in_threadpool(store.of_subject, subject)
    try:
        reports = await run_in_threadpool(verifier.verify_many, vcs)
    except CHAIN_UNREACHABLE as exc:
        raise HTTPException(503, f"the chain did not answer ({type(exc).__name__})") from None
    return [
        SubjectCredentialOut(
            credential_hash="0x" + credential_hash(vc).hex(),
            type=vc["type"][1],
            issuer=vc["issuer"],
            issued=vc["issuanceDate"],
            expires=vc.get("expirationDate"),
            status=live_status(report),
            report=ReportOut.model_validate(report.to_json()),
            credential=vc,
        )
        for vc, report in zip(vcs, reports, strict=True)
    ]


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
