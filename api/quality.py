"""What the quarantine routes need from below, as ports the node wires: the read model's
quarantines, and the node's own organization writing on chain as QUALITY; and how a chain
refusal of such a write becomes an HTTP answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request

from ledger_client.errors import ContractRevert
from ledger_client.indexer.quarantines import Quarantine, QuarantineState


class QuarantineRecords(Protocol):
    """Quarantines as the read model has indexed them (`ReadModelQuarantines`)."""

    def find(
        self,
        *,
        batch_id: str | bytes | None = None,
        state: QuarantineState | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Quarantine]: ...


class QualityWriter(Protocol):
    """The ledger writes quality makes (`LedgerWriter` with the organization's key)."""

    def acknowledge_excursion(self, batch_id: bytes, comment: str) -> Any: ...

    def release(self, batch_id: bytes, reason: str) -> Any: ...


@dataclass(frozen=True)
class QualityDesk:
    """The node's organization acting as QUALITY: `writer` sends with its key, `account` is
    its address on chain `chain_id`. Only its own users' requests are written with it.

    `dev_writers` (the embedded dev chain only, where the node holds every development key):
    the writers of the other development organizations by account, so each one's QUALITY
    token writes as that organization."""

    writer: QualityWriter
    account: str
    chain_id: int
    dev_writers: Mapping[str, QualityWriter] = field(default_factory=dict)

    def writer_for(self, account: str) -> QualityWriter | None:
        """The writer that signs as `account`, None when this node holds no key of it."""
        if account.lower() == self.account.lower():
            return self.writer
        return {a.lower(): w for a, w in self.dev_writers.items()}.get(account.lower())


# Refusals of the ledger that are the request's fault, by HTTP status; others are 502.
_REFUSAL_STATUS = {
    "ProvenanceLedgerUnknownBatch": 404,
    "ProvenanceLedgerExcursionNotAcknowledged": 409,
    "ProvenanceLedgerNoExcursion": 409,
    "ProvenanceLedgerInvalidTransition": 409,
    "ProvenanceLedgerEmptyComment": 422,
    "ProvenanceLedgerEmptyReason": 422,
    "MembershipUnauthorizedAccount": 403,
    "MembershipPaused": 409,
}


def refused_write(exc: ContractRevert) -> HTTPException:
    """The answer to a write the contract refused: its decoded error in the body."""
    status = _REFUSAL_STATUS.get(exc.error, 502)
    return HTTPException(status, {"message": str(exc), "error": exc.error, "args": exc.error_args})


def _quarantine_records(request: Request) -> QuarantineRecords:
    records = request.app.state.quarantine_records
    if records is None:
        raise HTTPException(404, "this server has no read model of quarantines")
    return records


def _quality_desk(request: Request) -> QualityDesk:
    desk = request.app.state.quality_desk
    if desk is None:
        raise HTTPException(404, "this server writes nothing on chain for quality")
    return desk


QuarantineRecordsDep = Annotated[QuarantineRecords, Depends(_quarantine_records)]
QualityDeskDep = Annotated[QualityDesk, Depends(_quality_desk)]
