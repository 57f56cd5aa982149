"""HTTP ingress of device-signed readings (DESIGN §7, §8): `POST /api/v1/readings`.

What a request may carry is bounded (`ReadingLimits`: 1 MiB, 5,000 readings, 4,096 bytes a
reading by default), so is the work one request makes the bridge do.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.bodies import read_limited_body
from api.deps import IngestorDep, ReadingLimitsDep
from ledger_client.errors import ChainUnavailable
from oracle_bridge.errors import MalformedBatch, StoreUnavailable, TooManyReadings
from oracle_bridge.sources.batch import ingest_batch, split_json_array

_log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["readings"])

# Seconds a client waits before resending a batch the bridge could not store (503).
RETRY_AFTER_S = 5


class SignedReadingBody(BaseModel):
    """One signed reading as a device sends it (documentation of the request body only:
    each item is passed verbatim to the bridge, which judges it)."""

    device: str = Field(examples=["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"])
    batchId: str = Field(description="32-byte on-chain batch id, 0x hex")
    seq: int = Field(ge=0, description="strictly increasing per device")
    timestamp: int = Field(ge=0, description="device clock, Unix seconds")
    tempMilliC: int = Field(description="temperature in milli-degrees Celsius")
    humidityPermille: int = Field(ge=0, le=65535)
    signature: str = Field(description="65-byte r||s||v EIP-712 signature, 0x hex")


class ReadingResult(BaseModel):
    """What became of the batch's item `index` (0-based)."""

    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = Field(description="why it was rejected (it is kept as a dead letter)")
    device: str | None
    seq: int | None


class Problem(BaseModel):
    detail: str


_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "items": SignedReadingBody.model_json_schema(),
            }
        }
    },
}


@router.post(
    "/readings",
    response_model=list[ReadingResult],
    summary="Submit device-signed readings",
    responses={
        400: {"model": Problem, "description": "the body is not a JSON array"},
        413: {
            "model": Problem,
            "description": "the body is over its byte or reading limit, or one reading is over "
            "its byte limit; nothing was stored",
        },
        502: {
            "model": Problem,
            "description": "the chain refused the bridge's device-policy read (its deployment "
            "record or node credentials are wrong, the chain is not down); nothing was stored",
        },
        503: {
            "model": Problem,
            "description": "nothing was stored; retry the whole batch after Retry-After seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def submit_readings(
    request: Request, ingestor: IngestorDep, limits: ReadingLimitsDep
) -> list[ReadingResult]:
    """Ingest a JSON array of signed readings, in order, in one database transaction.

    200 means every item was processed: stored (`accepted`), already stored (`duplicate`),
    or `rejected` and kept as a dead letter with its reason. Items are judged one by one, so
    one bad item does not refuse the others. A 503 means nothing of the batch was stored:
    resend it whole after `Retry-After` seconds (items an earlier attempt stored come back as
    `duplicate`). A 502 means nothing was stored either, but retrying will not help until the
    bridge's operator fixes what the chain refuses.

    A request carries at most 1 MiB and 5,000 readings of at most 4,096 bytes each (the
    defaults; `PROVENANCE_BRIDGE_HTTP_MAX_BODY_BYTES`, `..._HTTP_MAX_READINGS`,
    `..._MAX_MESSAGE_BYTES`). Beyond any, it is refused whole with 413 and nothing of it is
    stored, not even a dead letter: the sender splits the batch, or drops the oversized
    reading (the detail names its index).
    """
    body = await read_limited_body(
        request, limits.body_bytes, advice="send the readings in smaller batches"
    )
    try:
        items = split_json_array(body, max_items=limits.readings)
    except TooManyReadings as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    except MalformedBatch as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    for index, item in enumerate(items):
        if len(item) > limits.reading_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"reading {index} is {len(item)} bytes, over the limit of {limits.reading_bytes}"
                " bytes a reading; nothing of the batch was stored",
            )
    source = f"http:{request.client.host}" if request.client else "http"
    try:
        results = await run_in_threadpool(ingest_batch, ingestor, items, source=source)
    except (ChainUnavailable, StoreUnavailable) as exc:
        _log.warning("could not ingest a batch of %d readings: %s", len(items), exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the bridge cannot store readings right now; retry the whole batch later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    return [ReadingResult(**asdict(result)) for result in results]
