"""Lots and items for any authenticated principal: a batch's history, its trace backward and
forward, its recall scope, its readings and their Merkle proofs checked on chain.

`{identifier}` is a batch id (`0x` + 64 hex digits), an EPC URN or a GS1 Digital Link URI
(slashes and all). A lot whose value is literally `readings` is asked for by its batch id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from api.collector import paused_collection
from api.deps import CurrentPrincipal, LotsDep, ReadingsReaderDep
from api.lot_bodies import (
    BatchOut,
    ProofOut,
    ReadingsOut,
    RecallScopeOut,
    TraceOut,
    batch_out,
    proof_out,
    readings_out,
    recall_scope_out,
    trace_json,
)
from ledger_client.indexer.trace import (
    DEFAULT_TRACE_DEPTH,
    MAX_TRACE_DEPTH,
    LinksMissing,
    TraceRefused,
    UnknownObject,
)
from oracle_bridge.addresses import normalize_address
from oracle_bridge.batch_readings import MAX_READINGS_PAGE
from oracle_bridge.errors import ReadingNotAnchored, ReadingNotFound

router = APIRouter(prefix="/api/v1", tags=["lots"])

_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "a malformed identifier, direction, depth or page"},
    401: {"description": "no bearer token or auditor session"},
    404: {"description": "the identifier is not recorded on the ledger"},
}


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, UnknownObject):
        return HTTPException(404, str(exc))
    if isinstance(exc, LinksMissing):
        # Only before the node's indexer first ran on a read model older than the links.
        return HTTPException(503, str(exc), headers={"Retry-After": "5"})
    return HTTPException(400, str(exc))


@router.get(
    "/batches/{identifier:path}/readings",
    response_model=ReadingsOut,
    summary="A batch's signed readings, a page at a time",
    responses=_REFUSALS,
)
def batch_readings(
    identifier: str,
    principal: CurrentPrincipal,
    lots: LotsDep,
    readings: ReadingsReaderDep,
    offset: Annotated[int, Query(description="readings to skip")] = 0,
    limit: Annotated[int, Query(description=f"at most {MAX_READINGS_PAGE}")] = 100,
) -> ReadingsOut:
    """The readings the node's bridge stored for the batch, by device then seq, with the
    anchoring transaction of each anchored one. 404 when the node runs no bridge."""
    if not 1 <= limit <= MAX_READINGS_PAGE or offset < 0:
        raise HTTPException(
            400, f"limit must be between 1 and {MAX_READINGS_PAGE} and offset at least 0"
        )
    try:
        history = lots.batch(identifier)
    except (TraceRefused, UnknownObject) as exc:
        raise _refused(exc) from None
    if readings is None:
        raise HTTPException(404, "this node runs no bridge: it holds no readings")
    batch_id = bytes.fromhex(history.batch.batch_id[2:])
    return readings_out(readings.page(batch_id, offset=offset, limit=limit), offset, limit)


@router.get(
    "/batches/{identifier:path}",
    response_model=BatchOut,
    summary="A batch: status and its history, events, genealogy, custody, readings summary",
    responses=_REFUSALS,
)
def batch(
    identifier: str, principal: CurrentPrincipal, lots: LotsDep, readings: ReadingsReaderDep
) -> BatchOut:
    """The batch's status with every change, its events (by index), its `createBatch`
    parents and children, custody, and per device a summary of its readings when the node
    runs a bridge (`readings` null otherwise). Credentials are not listed: the credential
    store is not part of the ledger's read model (verify them at `/api/v1/credentials/verify`)."""
    try:
        history = lots.batch(identifier)
    except (TraceRefused, UnknownObject) as exc:
        raise _refused(exc) from None
    summary = None
    if readings is not None:
        summary = readings.summary(bytes.fromhex(history.batch.batch_id[2:]))
    return batch_out(history, summary)


@router.get(
    "/trace/{identifier:path}",
    response_model=TraceOut,
    summary="Where a lot or item came from (backward) or went (forward)",
    responses=_REFUSALS,
)
def trace(
    identifier: str,
    principal: CurrentPrincipal,
    lots: LotsDep,
    direction: Annotated[str, Query(description="backward or forward")] = "backward",
    depth: Annotated[int, Query(description=f"1..{MAX_TRACE_DEPTH}")] = DEFAULT_TRACE_DEPTH,
) -> Response:
    """The genealogy graph around the object, through `createBatch` parents and the edges of
    EPCIS aggregation, association and transformation events: nodes with their distance,
    edges (always upstream → downstream) with the event that made each, both in order of
    distance."""
    with paused_collection():
        try:
            walked = lots.trace(identifier, direction=direction, depth=depth)
        except (TraceRefused, UnknownObject, LinksMissing) as exc:
            raise _refused(exc) from None
        return Response(trace_json(walked), media_type="application/json")


@router.get(
    "/recall-scope/{identifier:path}",
    response_model=RecallScopeOut,
    summary="Every lot and item downstream of one, with its status and current holder",
    responses=_REFUSALS,
)
def recall_scope(
    identifier: str,
    principal: CurrentPrincipal,
    lots: LotsDep,
    depth: Annotated[int, Query(description=f"1..{MAX_TRACE_DEPTH}")] = MAX_TRACE_DEPTH,
) -> RecallScopeOut:
    """What a recall of the object would have to reach: everything made from it or packed
    with it, each with its ledger status (null for objects that are not batches) and its
    holder: the latest destination events name for it, else its on-chain custodian."""
    try:
        return recall_scope_out(lots.recall_scope(identifier, depth=depth))
    except (TraceRefused, UnknownObject, LinksMissing) as exc:
        raise _refused(exc) from None


@router.get(
    "/readings/{device}/{seq}/proof",
    response_model=ProofOut,
    summary="A reading's Merkle proof, checked against the root anchored on chain",
    responses={
        400: {"description": "a malformed device address or seq"},
        401: {"description": "no bearer token or auditor session"},
        404: {"description": "no such reading, or the node runs no bridge"},
        409: {"description": "the reading is not anchored yet; ask again shortly"},
    },
)
def reading_proof(
    device: str, seq: str, principal: CurrentPrincipal, readings: ReadingsReaderDep
) -> ProofOut:
    """`verified` is true only when the anchoring transaction, its log, its calldata, the
    Merkle proof and the device's signature all hold on the chain the node reads;
    `reason` names the first check that failed otherwise."""
    try:
        address = normalize_address(device)
    except ValueError:
        raise HTTPException(400, f"{device!r} is not a device address (0x + 40 hex)") from None
    if not seq.isdigit():
        raise HTTPException(400, f"seq must be a whole number, not {seq!r}")
    if readings is None:
        raise HTTPException(404, "this node runs no bridge: it holds no readings")
    try:
        return proof_out(readings.proof(address, int(seq)))
    except ReadingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ReadingNotAnchored as exc:
        raise HTTPException(409, str(exc)) from None
