"""EPCIS 2.0 capture as the standard REST binding has it: `POST /api/v1/capture` takes an
EPCISDocument and answers 202 with the job's URL; `GET /api/v1/capture/{captureID}` shows
the job. Capture is all-or-nothing (`GS1-Capture-Error-Behaviour: rollback`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.bodies import read_limited_body
from api.deps import CaptureDeskDep, CurrentOperator
from credentials.errors import UnsupportedDid
from credentials.identities import pkh_account
from ledger_client import json_input
from ledger_client.epcis.capture_plan import TooManyEvents
from ledger_client.epcis.validation import InvalidEpcisEvent
from ledger_client.json_input import InvalidJson

router = APIRouter(prefix="/api/v1", tags=["capture"])

_MEDIA_TYPES = ("application/json", "application/ld+json")


class CaptureJobPublic(BaseModel):
    """The standard's `CaptureJob`, with the job's `state` spelled out."""

    captureID: str
    createdAt: datetime
    finishedAt: datetime | None
    running: bool
    success: bool
    captureErrorBehaviour: Literal["rollback"] = "rollback"
    state: Literal["RUNNING", "SUCCESS", "FAILED"]
    errors: list[str] = Field(description="why the document was refused (FAILED)")


def _problem(status_code: int, kind: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": f"epcisException:{kind}", "title": kind, "status": status_code}
    return JSONResponse(
        {**body, "detail": detail, **extra},
        status_code=status_code,
        media_type="application/problem+json",
    )


@router.post(
    "/capture",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Capture an EPCIS 2.0 document",
    responses={
        400: {"description": "not a valid EPCISDocument; `errors` lists each JSON path"},
        403: {"description": "not an OPERATOR of this node's organization"},
        413: {"description": "over the byte or event limit of one capture"},
        415: {"description": "not application/json or application/ld+json"},
    },
)
async def capture_document(
    request: Request, principal: CurrentOperator, desk: CaptureDeskDep, tasks: BackgroundTasks
) -> Response:
    """Validate the EPCISDocument against the official schema, plan it whole, and capture it
    as a job: 202 with `Location: /api/v1/capture/{captureID}`. Every event is filed under
    each lot and item it names; one the node's organization may not write fails the job
    whole, naming the lot and the missing right, and nothing is recorded. An event without
    `eventID` gets its CBV 2.0 event hash id."""
    try:
        organization_account = pkh_account(principal.organization, chain_id=desk.capturer.chain_id)
    except UnsupportedDid:
        organization_account = ""
    if organization_account.lower() != desk.capturer.account.lower():
        raise HTTPException(
            403,
            f"this node writes as {desk.capturer.account}; {principal.organization} captures "
            "through its own node",
        )
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"send the EPCISDocument as {' or '.join(_MEDIA_TYPES)}, not {media_type or 'nothing'}",
        )
    body = await read_limited_body(
        request, desk.limits.body_bytes, advice="split the document into smaller captures"
    )
    try:
        document = json_input.loads(body, max_bytes=desk.limits.body_bytes)
    except InvalidJson as exc:
        return _problem(400, "ValidationException", f"the body is not JSON this node takes: {exc}")
    try:
        plan = desk.plan(document)
    except InvalidEpcisEvent as exc:
        errors = [{"path": path, "message": message} for path, message in exc.problems]
        return _problem(400, "ValidationException", str(exc), errors=errors)
    except TooManyEvents as exc:
        return _problem(413, "CaptureLimitExceededException", str(exc))
    job = desk.jobs.start(organization=principal.organization, event_count=len(plan.events))
    tasks.add_task(desk.run, job, plan)
    return Response(
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/capture/{job.id}"},
    )


@router.get("/capture/{capture_id}", response_model=CaptureJobPublic, summary="A capture job")
def capture_job(
    capture_id: str, principal: CurrentOperator, desk: CaptureDeskDep
) -> CaptureJobPublic:
    """The job's state: RUNNING, SUCCESS, or FAILED with its errors (nothing captured)."""
    job = desk.jobs.get(capture_id)
    if job is None or job.organization != principal.organization:
        raise HTTPException(404, f"no capture job {capture_id!r} of {principal.organization}")
    return CaptureJobPublic(
        captureID=job.id,
        createdAt=job.created_at,
        finishedAt=job.finished_at,
        running=job.state == "RUNNING",
        success=job.state != "FAILED",
        state=job.state,
        errors=job.errors,
    )
