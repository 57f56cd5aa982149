"""EPCIS 2.0 query as the standard REST binding has it: `GET /api/v1/events` with every
query parameter of the binding, paged by `perPage` and `nextPageToken` (and a `Link:
<…>; rel="next"` header); `GET /api/v1/events/{eventID}` one event; and
`GET /api/v1/events/{eventID}/proof`, the event checked against the chain now. Any
authenticated user (AUDITOR, OPERATOR, QUALITY) reads them."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api.deps import CurrentPrincipal, EventArchiveDep
from ledger_client.chain import CHAIN_UNREACHABLE
from ledger_client.epcis_query.parameters import (
    InvalidQueryParameter,
    QueryTooLarge,
    parse_query,
)
from ledger_client.epcis_query.proofs import EventProof
from ledger_client.epcis_query.query_document import query_document_json

router = APIRouter(prefix="/api/v1", tags=["events"])

# Seconds a client waits before asking for a proof again when the chain did not answer.
RETRY_AFTER_S = 5


class EventProofPublic(BaseModel):
    """An event's read-model row against the chain now."""

    eventID: str
    verified: bool
    problem: str | None
    batchId: str
    transactionHash: str
    blockNumber: int
    blockHash: str
    logIndex: int
    sqlPayloadHash: str
    chainPayloadHash: str | None


def _problem(status_code: int, kind: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": f"epcisException:{kind}", "title": kind, "status": status_code, "detail": detail},
        status_code=status_code,
        media_type="application/problem+json",
    )


@router.get(
    "/events",
    summary="Query EPCIS events",
    responses={
        400: {"description": "a query parameter is unknown, repeated or malformed"},
        413: {"description": "more events match than maxEventCount"},
    },
)
async def query_events(
    request: Request, principal: CurrentPrincipal, archive: EventArchiveDep
) -> Response:
    """The events the standard's query parameters select, as an EPCISQueryDocument, one page
    at a time (`perPage`, at most 1,000; `nextPageToken` from the `Link` header)."""
    try:
        query = parse_query(request.query_params.multi_items())
        page = await run_in_threadpool(archive.query, query)
    except InvalidQueryParameter as exc:
        return _problem(400, "QueryParameterException", str(exc))
    except QueryTooLarge as exc:
        return _problem(413, "QueryTooLargeException", str(exc))
    headers = {}
    if page.next_page_token is not None:
        next_url = request.url.include_query_params(nextPageToken=page.next_page_token)
        headers["Link"] = f'<{next_url}>; rel="next"'
    # The stored payloads spliced in as they are: no parse and write per event.
    return Response(
        query_document_json(page.payloads), headers=headers, media_type="application/ld+json"
    )


@router.get(
    "/events/{event_id:path}/proof",
    response_model=EventProofPublic,
    summary="Prove an event against the chain",
    responses={503: {"description": "the chain did not answer; retry after Retry-After"}},
)
async def event_proof(
    event_id: str, principal: CurrentPrincipal, archive: EventArchiveDep
) -> EventProofPublic:
    """Re-read the event's anchoring transaction from the chain and compare the payload hash
    it emitted with keccak256 of the payload the read model holds: `verified` or not, and
    why not."""

    def prove() -> EventProof | None:  # one hand-off to a worker thread, not two
        event = archive.event(event_id)
        return archive.proof(event) if event is not None else None

    try:
        proof = await run_in_threadpool(prove)
    except CHAIN_UNREACHABLE as exc:
        raise HTTPException(
            503,
            f"the chain did not answer ({type(exc).__name__}); the proof needs it: retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    if proof is None:
        raise HTTPException(404, f"no indexed event has eventID {event_id!r}")
    event = proof.event
    return EventProofPublic(
        eventID=event.event_id,
        verified=proof.verified,
        problem=proof.problem,
        batchId=event.batch_id,
        transactionHash=event.tx_hash,
        blockNumber=event.block_number,
        blockHash=event.block_hash,
        logIndex=event.log_index,
        sqlPayloadHash=proof.sql_hash,
        chainPayloadHash=proof.chain_hash,
    )


@router.get("/events/{event_id:path}", summary="One EPCIS event")
async def event_by_id(
    event_id: str, principal: CurrentPrincipal, archive: EventArchiveDep
) -> JSONResponse:
    """The event whose `eventID` is `event_id` (URL-encoded), as anchored."""
    event = await run_in_threadpool(archive.event, event_id)
    if event is None:
        raise HTTPException(404, f"no indexed event has eventID {event_id!r}")
    return JSONResponse(json.loads(event.payload), media_type="application/ld+json")
