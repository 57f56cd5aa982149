"""Quarantines over HTTP: `GET /api/v1/quarantines` for any authenticated user; quality's
`POST /api/v1/quarantines/{batchId}/acknowledge` and `POST /api/v1/batches/{batchId}/release`,
written on chain with the node's organization's key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StringConstraints

from api.deps import CurrentPrincipal
from api.principals import Principal
from api.quality import (
    QualityDesk,
    QualityDeskDep,
    QualityWriter,
    QuarantineRecordsDep,
    refused_write,
)
from credentials.errors import UnsupportedDid
from credentials.identities import pkh_account
from ledger_client.chain import CHAIN_UNREACHABLE
from ledger_client.errors import ContractRevert
from ledger_client.indexer.quarantines import Change, Quarantine, QuarantineState
from ledger_client.indexer.queries import MAX_PAGE, batch_key
from ledger_client.roles import Role

router = APIRouter(prefix="/api/v1", tags=["quarantines"])

# A comment or reason is a sentence or a short report, not a document.
MAX_TEXT = 2_000

NonBlank = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)
]
BatchIdPath = Annotated[str, Path(description="the batch id: 0x and 64 hex digits")]


class RuleOut(BaseModel):
    rule_version: int
    device: str
    seq: int
    decision: str


class AcknowledgementOut(BaseModel):
    by: str
    comment: str
    at: datetime
    block_number: int
    tx_hash: str


class ChangeOut(BaseModel):
    status: str
    by: str
    reason: str
    at: datetime | None = Field(description="null for a change indexed before times were kept")
    block_number: int
    tx_hash: str


class QuarantineOut(BaseModel):
    batch_id: str
    uri: str | None
    state: QuarantineState
    started: ChangeOut = Field(description="the status change into QUARANTINED")
    rule: RuleOut | None = Field(description="the breaching reading, when the rule quarantined")
    acknowledgements: list[AcknowledgementOut]
    recalls: list[ChangeOut]
    ended: ChangeOut | None = Field(description="the release or destruction; null while open")


class QuarantinePageOut(BaseModel):
    quarantines: list[QuarantineOut]
    next_offset: int | None = Field(description="pass as `offset` for the next page; null: none")


class AcknowledgementIn(BaseModel):
    comment: NonBlank


class ReleaseIn(BaseModel):
    reason: NonBlank


class WrittenOut(BaseModel):
    batch_id: str
    tx_hash: str
    block_number: int


_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid token or session"},
    403: {"description": "not QUALITY, or not of this node's organization"},
    404: {"description": "unknown batch, or this server writes nothing for quality"},
    409: {"description": "the batch's status or hold refuses it (the contract's error)"},
    422: {"description": "an empty comment or reason"},
    503: {"description": "the chain did not answer; nothing was written"},
}


@router.get(
    "/quarantines",
    response_model=QuarantinePageOut,
    summary="Quarantines, open and closed, with the rule's evidence and acknowledgements",
    responses={401: _REFUSALS[401], 404: {"description": "this server has no read model"}},
)
async def list_quarantines(
    principal: CurrentPrincipal,
    records: QuarantineRecordsDep,
    state: Annotated[QuarantineState | None, Query(description="open or closed only")] = None,
    batch: Annotated[str | None, Query(description="only this batch (0x id)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> QuarantinePageOut:
    """Newest first, as far as the read model has indexed the chain."""
    key = None if batch is None else _batch_key(batch)
    found = await run_in_threadpool(
        records.find, batch_id=key, state=state, limit=limit, offset=offset
    )
    return QuarantinePageOut(
        quarantines=[_quarantine_out(q) for q in found],
        next_offset=offset + limit if len(found) == limit else None,
    )


@router.post(
    "/quarantines/{batch_id}/acknowledge",
    response_model=WrittenOut,
    summary="Acknowledge the excursion behind a rule's quarantine (quality)",
    responses=_REFUSALS,
)
async def acknowledge(
    principal: CurrentPrincipal,
    desk: QualityDeskDep,
    batch_id: BatchIdPath,
    body: Annotated[AcknowledgementIn, Body()],
) -> WrittenOut:
    """Puts the comment on chain (`acknowledgeExcursion`); the batch may be released after."""
    key = _batch_key(batch_id)
    writer = _writer_of(principal, desk)
    return await _write(key, lambda: writer.acknowledge_excursion(_raw(key), body.comment))


@router.post(
    "/batches/{batch_id}/release",
    response_model=WrittenOut,
    summary="Release a quarantined or recalled batch (quality)",
    responses=_REFUSALS,
)
async def release(
    principal: CurrentPrincipal,
    desk: QualityDeskDep,
    batch_id: BatchIdPath,
    body: Annotated[ReleaseIn, Body()],
) -> WrittenOut:
    """Releases on chain (`release`); a rule's quarantine must be acknowledged first (409)."""
    key = _batch_key(batch_id)
    writer = _writer_of(principal, desk)
    return await _write(key, lambda: writer.release(_raw(key), body.reason))


def _batch_key(batch_id: str) -> str:
    try:
        return batch_key(batch_id)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _raw(key: str) -> bytes:
    return bytes.fromhex(key[2:])


def _writer_of(principal: Principal, desk: QualityDesk) -> QualityWriter:
    """The writer of the principal's organization, which must be QUALITY and one the node
    signs for (its own; on the embedded dev chain, any development organization)."""
    if principal.role is not Role.QUALITY:
        raise HTTPException(
            403, f"this needs the QUALITY role; {principal.id} acts as {principal.role.name}"
        )
    try:
        account = pkh_account(principal.organization, chain_id=desk.chain_id)
    except UnsupportedDid as exc:
        raise HTTPException(403, str(exc)) from None
    writer = desk.writer_for(account)
    if writer is None:
        raise HTTPException(
            403, f"{principal.organization} is not this node's organization; use its own node"
        )
    return writer


async def _write(key: str, send: Callable[[], Any]) -> WrittenOut:
    try:
        receipt = await run_in_threadpool(send)
    except ContractRevert as exc:
        raise refused_write(exc) from None
    except CHAIN_UNREACHABLE as exc:
        raise HTTPException(503, f"the chain did not answer ({type(exc).__name__})") from None
    return WrittenOut(batch_id=key, tx_hash=receipt.tx_hash, block_number=receipt.block_number)


def _change_out(change: Change) -> ChangeOut:
    return ChangeOut(**vars(change))


def _quarantine_out(q: Quarantine) -> QuarantineOut:
    return QuarantineOut(
        batch_id=q.batch_id,
        uri=q.uri,
        state=q.state,
        started=_change_out(q.started),
        rule=None if q.rule is None else RuleOut(**vars(q.rule)),
        acknowledgements=[AcknowledgementOut(**vars(a)) for a in q.acknowledgements],
        recalls=[_change_out(c) for c in q.recalls],
        ended=None if q.ended is None else _change_out(q.ended),
    )
