"""Queries over the read model, free of HTTP: keyword-only, given a session, returning rows.

Statuses, custodians, activity and role membership are derived here from the latest
change row, never read from stored mutable state. `batch_id` arguments accept `0x…` hex in any
case or the raw 32 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Subquery, func, label, literal
from sqlalchemy.orm import Mapped, Session
from sqlmodel import SQLModel, col, select

from ledger_client.indexer.decoding import checksum, organization_key
from ledger_client.indexer.read_model import (
    Batch,
    BatchParent,
    Checkpoint,
    CustodyOffer,
    CustodyTransfer,
    LedgerEvent,
    Organization,
    OrganizationStatusChange,
    RoleAssignment,
    StatusChange,
)
from ledger_client.ledger import BatchStatus

MAX_PAGE = 1_000
MAX_GENEALOGY_DEPTH = 64


class Direction(StrEnum):
    """Genealogy direction: where a batch came from, or where it went."""

    BACKWARD = "backward"
    FORWARD = "forward"


@dataclass(frozen=True)
class CustodyPeriod:
    """`custodian` held the batch from block `since_block` (timestamp `since`) until the
    next transfer (`until_block` / `until`, None while it still holds it); it took the batch
    from `handed_over_by` (None: it created the batch) in transaction `tx_hash`."""

    custodian: str
    handed_over_by: str | None
    since_block: int
    since: datetime
    until_block: int | None
    until: datetime | None
    tx_hash: str


@dataclass(frozen=True)
class BatchHistory:
    batch: Batch
    status: str
    events: list[LedgerEvent]
    status_changes: list[StatusChange]
    parents: list[str]
    children: list[str]
    custody: list[CustodyPeriod]
    offered_to: str | None


@dataclass(frozen=True)
class GenealogyLink:
    """`child_id` was made from `parent_id`, `depth` links away from the batch asked about."""

    child_id: str
    parent_id: str
    depth: int


@dataclass(frozen=True)
class OrganizationState:
    account: str
    did: str
    name: str
    active: bool


@dataclass(frozen=True)
class LedgerSummary:
    batches: int
    events: int
    events_without_payload: int
    status_changes: int
    organizations: int
    role_assignments: int
    batches_by_status: dict[str, int] = field(default_factory=dict)
    checkpoint_block: int | None = None


def batch_key(batch_id: str | bytes) -> str:
    """The read model's form of a batch id: lower-case `0x` + 64 hex digits."""
    if isinstance(batch_id, bytes):
        if len(batch_id) != 32:
            raise ValueError(f"a batch id is 32 bytes, not {len(batch_id)}")
        return "0x" + batch_id.hex()
    digits = batch_id.lower().removeprefix("0x")
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"a batch id is 32 bytes of hex, not {batch_id!r}")
    return "0x" + digits


def batch_status(session: Session, *, batch_id: str | bytes) -> str | None:
    """The batch's current status name (ACTIVE until its first change); None when unknown."""
    key = batch_key(batch_id)
    latest = session.scalars(
        select(StatusChange.to_status)
        .where(StatusChange.batch_id == key)
        .order_by(col(StatusChange.block_number).desc(), col(StatusChange.log_index).desc())
        .limit(1)
    ).first()
    if latest is not None:
        return latest
    exists = session.scalars(select(Batch.batch_id).where(Batch.batch_id == key)).first()
    return BatchStatus.ACTIVE.name if exists else None


def batch_history(session: Session, *, batch_id: str | bytes) -> BatchHistory | None:
    """All the read model knows about one batch, events in ledger order; None when unknown."""
    key = batch_key(batch_id)
    batch = session.get(Batch, key)
    if batch is None:
        return None
    changes = list(
        session.scalars(
            select(StatusChange)
            .where(StatusChange.batch_id == key)
            .order_by(col(StatusChange.block_number), col(StatusChange.log_index))
        )
    )
    return BatchHistory(
        batch=batch,
        status=changes[-1].to_status if changes else BatchStatus.ACTIVE.name,
        events=list(
            session.scalars(
                select(LedgerEvent)
                .where(LedgerEvent.batch_id == key)
                .order_by(col(LedgerEvent.event_index))
            )
        ),
        status_changes=changes,
        parents=list(
            session.scalars(
                select(BatchParent.parent_id)
                .where(BatchParent.child_id == key)
                .order_by(col(BatchParent.parent_id))
            )
        ),
        children=list(
            session.scalars(
                select(BatchParent.child_id)
                .where(BatchParent.parent_id == key)
                .order_by(col(BatchParent.child_id))
            )
        ),
        custody=custody_history(session, batch_id=key),
        offered_to=custody_offer(session, batch_id=key),
    )


def custody_history(session: Session, *, batch_id: str | bytes) -> list[CustodyPeriod]:
    """Who held the batch and when, its creator first; empty when the batch is unknown."""
    transfers = list(
        session.scalars(
            select(CustodyTransfer)
            .where(CustodyTransfer.batch_id == batch_key(batch_id))
            .order_by(col(CustodyTransfer.block_number), col(CustodyTransfer.log_index))
        )
    )
    return [
        CustodyPeriod(
            custodian=transfer.to_custodian,
            handed_over_by=transfer.from_custodian,
            since_block=transfer.block_number,
            since=_block_time(transfer.block_time),
            until_block=after.block_number if after else None,
            until=_block_time(after.block_time) if after else None,
            tx_hash=transfer.tx_hash,
        )
        # Each transfer with the next one, which ends it (None for the last).
        for transfer, after in zip(transfers, [*transfers[1:], None], strict=False)
    ]


def custody_offer(session: Session, *, batch_id: str | bytes) -> str | None:
    """The organization the batch is offered to now; None when no offer stands (none made,
    withdrawn, or ended by the transfer it led to)."""
    key = batch_key(batch_id)
    offer: Row[str | None, int, int] | None = session.execute(
        select(CustodyOffer.offered_to, CustodyOffer.block_number, CustodyOffer.log_index)
        .where(CustodyOffer.batch_id == key)
        .order_by(col(CustodyOffer.block_number).desc(), col(CustodyOffer.log_index).desc())
        .limit(1)
    ).first()
    if offer is None:
        return None
    transfer = session.execute(
        select(CustodyTransfer.block_number, CustodyTransfer.log_index)
        .where(CustodyTransfer.batch_id == key)
        .order_by(col(CustodyTransfer.block_number).desc(), col(CustodyTransfer.log_index).desc())
        .limit(1)
    ).first()
    offered_to, block_number, log_index = offer
    if transfer is not None and tuple(transfer) > (block_number, log_index):
        return None
    return offered_to


def held_by(session: Session, *, custodian: str) -> list[str]:
    """The ids of the batches `custodian` holds now (its latest transfers in), sorted."""
    latest = _latest(
        CustodyTransfer, col(CustodyTransfer.batch_id), col(CustodyTransfer.to_custodian)
    )
    return list(
        session.scalars(
            select(latest.c.key)
            .where(latest.c.rank == 1, latest.c.value == checksum(custodian))
            .order_by(latest.c.key)
        )
    )


def events(
    session: Session,
    *,
    batch_id: str | bytes | None = None,
    event_type: str | None = None,
    biz_step: str | None = None,
    kind: str | None = None,
    recorder: str | None = None,
    from_time: datetime | None = None,
    until_time: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[LedgerEvent]:
    """Anchored events in ledger order (block, log index), filtered: one row per filing, so
    an event filed under several batches comes once per batch unless `batch_id` is given.

    `from_time` is inclusive, `until_time` exclusive (EPCIS `GE_eventTime` / `LT_eventTime`);
    a naive datetime is taken as UTC. `limit` is capped at `MAX_PAGE`.
    """
    query = select(LedgerEvent)
    if batch_id is not None:
        query = query.where(LedgerEvent.batch_id == batch_key(batch_id))
    if event_type is not None:
        query = query.where(LedgerEvent.event_type == event_type)
    if biz_step is not None:
        query = query.where(LedgerEvent.biz_step == biz_step)
    if kind is not None:
        query = query.where(LedgerEvent.kind == kind.upper())
    if recorder is not None:
        query = query.where(LedgerEvent.recorder == checksum(recorder))
    if from_time is not None:
        query = query.where(col(LedgerEvent.event_time) >= _utc(from_time))
    if until_time is not None:
        query = query.where(col(LedgerEvent.event_time) < _utc(until_time))
    query = query.order_by(col(LedgerEvent.block_number), col(LedgerEvent.log_index))
    return list(session.scalars(query.limit(max(0, min(limit, MAX_PAGE))).offset(max(0, offset))))


def organization_events(session: Session, *, organization: str) -> list[LedgerEvent]:
    """The events `organization` anchored under itself (naming no lot or item), in its
    order; each row is its own proof (tx hash, block, log index, payload hash)."""
    return list(
        session.scalars(
            select(LedgerEvent)
            .where(LedgerEvent.batch_id == organization_key(checksum(organization)))
            .order_by(col(LedgerEvent.event_index))
        )
    )


def genealogy(
    session: Session,
    *,
    batch_id: str | bytes,
    direction: Direction | str,
    max_depth: int = MAX_GENEALOGY_DEPTH,
) -> list[GenealogyLink]:
    """The links reachable from a batch: its ancestors (backward) or descendants (forward).

    Each link appears once, at its shortest distance; sorted by depth then ids.
    """
    direction = Direction(direction)
    key = batch_key(batch_id)
    near, far = (
        (col(BatchParent.child_id), col(BatchParent.parent_id))
        if direction is Direction.BACKWARD
        else (col(BatchParent.parent_id), col(BatchParent.child_id))
    )
    start = select(
        col(BatchParent.child_id),
        col(BatchParent.parent_id),
        label("reached", far),
        literal(1).label("depth"),
    ).where(near == key)
    walk = start.cte("walk", recursive=True)
    step = (
        select(
            col(BatchParent.child_id),
            col(BatchParent.parent_id),
            label("reached", far),
            (walk.c.depth + 1).label("depth"),
        )
        .join(walk, near == walk.c.reached)
        .where(walk.c.depth < max_depth)
    )
    walk = walk.union(step)
    # The CTE's columns are untyped; these are the types of what it selects.
    rows: Sequence[Row[str, str, int]] = session.execute(
        select(walk.c.child_id, walk.c.parent_id, func.min(walk.c.depth)).group_by(
            walk.c.child_id, walk.c.parent_id
        )
    ).all()
    links = [GenealogyLink(child, parent, depth) for child, parent, depth in rows]
    return sorted(links, key=lambda link: (link.depth, link.child_id, link.parent_id))


def organizations(session: Session) -> list[OrganizationState]:
    """Registered organizations in registration order, with their current activity."""
    latest = _latest(
        OrganizationStatusChange,
        col(OrganizationStatusChange.account),
        col(OrganizationStatusChange.active),
    )
    rows: Sequence[Row[str, str, str, bool | None]] = session.execute(
        select(Organization.account, Organization.did, Organization.name, latest.c.value)
        .outerjoin(latest, (latest.c.key == Organization.account) & (latest.c.rank == 1))
        .order_by(col(Organization.block_number), col(Organization.log_index))
    ).all()
    return [
        OrganizationState(account, did, name, True if active is None else bool(active))
        for account, did, name, active in rows
    ]


def role_members(session: Session, *, role: str) -> list[str]:
    """Accounts holding `role` now (`OPERATOR`, `OPERATOR_ROLE` or the `0x…` role id), sorted."""
    if role.startswith("0x"):
        condition = col(RoleAssignment.role_id) == role.lower()
    else:
        condition = col(RoleAssignment.role) == role.upper().removesuffix("_ROLE") + "_ROLE"
    ranked = (
        select(
            RoleAssignment.account,
            RoleAssignment.granted,
            func.row_number()
            .over(
                partition_by=RoleAssignment.account,
                order_by=(
                    col(RoleAssignment.block_number).desc(),
                    col(RoleAssignment.log_index).desc(),
                ),
            )
            .label("rank"),
        )
        .where(condition)
        .subquery()
    )
    return list(
        session.scalars(
            select(ranked.c.account)
            .where(ranked.c.rank == 1, ranked.c.granted.is_(True))
            .order_by(ranked.c.account)
        )
    )


def summary(session: Session) -> LedgerSummary:
    """Counts over the whole read model (for the demo and health checks)."""
    latest = _latest(StatusChange, col(StatusChange.batch_id), col(StatusChange.to_status))
    status = func.coalesce(latest.c.value, BatchStatus.ACTIVE.name)
    by_status = session.execute(
        select(status, func.count())
        .select_from(Batch)
        .outerjoin(latest, (latest.c.key == Batch.batch_id) & (latest.c.rank == 1))
        .group_by(status)
    ).all()
    checkpoint = session.scalars(select(Checkpoint.block_number)).first()
    return LedgerSummary(
        batches=_count(session, Batch),
        events=_count(session, LedgerEvent),
        events_without_payload=session.scalar(
            select(func.count()).select_from(LedgerEvent).where(col(LedgerEvent.payload).is_(None))
        )
        or 0,
        status_changes=_count(session, StatusChange),
        organizations=_count(session, Organization),
        role_assignments=_count(session, RoleAssignment),
        batches_by_status=dict(sorted(by_status)),
        checkpoint_block=checkpoint,
    )


def _latest(
    model: type[StatusChange] | type[OrganizationStatusChange] | type[CustodyTransfer],
    key_column: Mapped[str],
    value_column: Mapped[Any],
) -> Subquery:
    """(key, value, rank) of each change row, rank 1 being the latest per key."""
    return select(
        label("key", key_column),
        label("value", value_column),
        func.row_number()
        .over(
            partition_by=key_column,
            order_by=(col(model.block_number).desc(), col(model.log_index).desc()),
        )
        .label("rank"),
    ).subquery()


def _count(session: Session, model: type[SQLModel]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _block_time(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
