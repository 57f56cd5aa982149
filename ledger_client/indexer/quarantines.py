"""Quarantines as the read model tells them, free of HTTP: each from the status change that
put a batch in QUARANTINED to the release or destruction that ended it (open while neither
came), with the rule's evidence when ColdChainCompliance made it, quality's
acknowledgements and any recall in between."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlmodel import col, select

from ledger_client.indexer.queries import MAX_PAGE, batch_key
from ledger_client.indexer.read_model import (
    Batch,
    ExcursionAcknowledgement,
    RuleQuarantine,
    StatusChange,
)
from ledger_client.ledger import BatchStatus

# The status changes that end a quarantine; a recall only deepens it.
_CLOSING = (BatchStatus.RELEASED.name, BatchStatus.DESTROYED.name)


class QuarantineState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class RuleEvidence:
    """The breaching reading behind a rule's quarantine: `seq` of `device`, judged by
    version `rule_version` of the class's rule as `decision`."""

    rule_version: int
    device: str
    seq: int
    decision: str


@dataclass(frozen=True)
class Acknowledgement:
    by: str
    comment: str
    at: datetime
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class Change:
    """A status change within or ending a quarantine (`at` None: indexed before the read
    model kept block times; a rebuild fills it)."""

    status: str
    by: str
    reason: str
    at: datetime | None
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class Quarantine:
    batch_id: str
    uri: str | None
    started: Change
    rule: RuleEvidence | None
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    recalls: list[Change] = field(default_factory=list)
    ended: Change | None = None

    @property
    def state(self) -> QuarantineState:
        return QuarantineState.OPEN if self.ended is None else QuarantineState.CLOSED


def quarantines(
    session: Session,
    *,
    batch_id: str | bytes | None = None,
    state: QuarantineState | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Quarantine]:
    """Quarantines, newest first; of one batch, or only open or closed ones, when asked.

    Raises:
        ValueError: a malformed `batch_id`, or `limit` outside 1..MAX_PAGE, or a negative `offset`.
    """
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValueError(f"limit is 1..{MAX_PAGE} and offset >= 0")
    held = select(StatusChange.batch_id).where(
        StatusChange.to_status == BatchStatus.QUARANTINED.name
    )
    if batch_id is not None:
        held = held.where(StatusChange.batch_id == batch_key(batch_id))
    keys = sorted(set(session.scalars(held)))
    if not keys:
        return []
    found = [
        q
        for key in keys
        for q in _episodes(
            key,
            _rows(session, StatusChange, key),
            _rows(session, ExcursionAcknowledgement, key),
            {r.tx_hash: r for r in _rows(session, RuleQuarantine, key)},
        )
        if state is None or q.state is state
    ]
    uris = {
        row.batch_id: row.uri
        for row in session.execute(
            select(Batch.batch_id, Batch.uri).where(col(Batch.batch_id).in_(keys))
        )
    }
    found.sort(key=lambda q: (q.started.block_number, q.started.tx_hash), reverse=True)
    page = found[offset : offset + limit]
    return [Quarantine(**{**vars(q), "uri": uris.get(q.batch_id)}) for q in page]


_Row = TypeVar("_Row", StatusChange, ExcursionAcknowledgement, RuleQuarantine)


def _rows(session: Session, model: type[_Row], key: str) -> list[_Row]:
    return list(
        session.scalars(
            select(model)
            .where(model.batch_id == key)
            .order_by(col(model.block_number), col(model.log_index))
        )
    )


def _episodes(
    key: str,
    changes: list[StatusChange],
    acknowledgements: list[ExcursionAcknowledgement],
    evidence: dict[str, RuleQuarantine],
) -> list[Quarantine]:
    """Cut the batch's status changes into quarantines; each acknowledgement goes to the
    quarantine open when it was made (the contract takes none outside one)."""
    episodes: list[Quarantine] = []
    bounds: list[tuple[tuple[int, int], tuple[int, int] | None]] = []
    current: Quarantine | None = None
    for row in changes:
        position = (row.block_number, row.log_index)
        if row.to_status == BatchStatus.QUARANTINED.name:
            rule = evidence.get(row.tx_hash)
            current = Quarantine(
                batch_id=key,
                uri=None,
                started=_change(row),
                rule=_evidence(rule) if rule is not None else None,
            )
            episodes.append(current)
            bounds.append((position, None))
        elif current is not None and row.to_status == BatchStatus.RECALLED.name:
            current.recalls.append(_change(row))
        elif current is not None and row.to_status in _CLOSING:
            episodes[-1] = current = Quarantine(**{**vars(current), "ended": _change(row)})
            bounds[-1] = (bounds[-1][0], position)
            current = None
    for ack in acknowledgements:
        position = (ack.block_number, ack.log_index)
        for episode, (start, end) in zip(episodes, bounds, strict=True):
            if start < position and (end is None or position < end):
                episode.acknowledgements.append(
                    Acknowledgement(
                        ack.acknowledged_by,
                        ack.comment,
                        datetime.fromtimestamp(ack.block_time, UTC),
                        ack.block_number,
                        ack.tx_hash,
                    )
                )
    return episodes


def _change(row: StatusChange) -> Change:
    at = None if row.block_time is None else datetime.fromtimestamp(row.block_time, UTC)
    return Change(row.to_status, row.changed_by, row.reason, at, row.block_number, row.tx_hash)


def _evidence(row: RuleQuarantine) -> RuleEvidence:
    return RuleEvidence(row.rule_version, row.device, row.seq, row.decision)


class ReadModelQuarantines:
    """`quarantines` over the read model at `engine`, a session per call (for the API)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find(
        self,
        *,
        batch_id: str | bytes | None = None,
        state: QuarantineState | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Quarantine]:
        with Session(self.engine) as session:
            return quarantines(session, batch_id=batch_id, state=state, limit=limit, offset=offset)
