"""The trace as it was before `genealogy_link`: each level read from the tables links are
made of. Kept to check the links against (tests) and to compare with (bench/trace.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, cast, literal, null, union_all
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from ledger_client.indexer.genealogy import EpcisEdge, Relation, Side, TransformationPort
from ledger_client.indexer.queries import Direction
from ledger_client.indexer.read_model import BatchParent
from ledger_client.indexer.trace import Trace, frontier_table, resolve, walk


def trace_over_sources(
    session: Session, *, identifier: str, direction: Direction, depth: int
) -> Trace:
    """`trace` reading each level from the tables links are made of (`epcis_edge`,
    `transformation_port`, `batch_parent`) instead of `genealogy_link`: the walk before the
    links, kept to check them against and to compare with. Not for production use."""
    root_id, root_uri = resolve(identifier)
    return walk(session, root_id, root_uri, direction, depth, source_level_query)


def source_level_query(session: Session, direction: Direction) -> Any:
    """One statement: every edge with its near end in the frontier (bound as `frontier`, see
    `trace.frontier_table`) — EPCIS edges, transformation
    inputs joined to outputs by transformation id, `createBatch` parents. Columns: near end,
    far end, far end's URI (None from `createBatch`), relation, batch id and event index of
    the event that made it, transformation id.

    Each part starts from the frontier and looks its edges up by index (a join, not `IN`: on
    SQLite, `IN` first copied a level of 65,536 ids into a temporary index, twice as slow)."""
    forward = direction is Direction.FORWARD
    edge_ends = (col(EpcisEdge.source_id), col(EpcisEdge.target_id))
    edge_near, edge_far = edge_ends if forward else edge_ends[::-1]
    near = frontier_table(session)
    epcis = sql_select(
        near.c.value,
        edge_far,
        col(EpcisEdge.target_uri) if forward else col(EpcisEdge.source_uri),
        col(EpcisEdge.relation),
        col(EpcisEdge.batch_id),
        col(EpcisEdge.event_index),
        cast(null(), Text).label("transformation_id"),
    ).join_from(near, EpcisEdge, edge_near == near.c.value)
    inputs, outputs = aliased(TransformationPort), aliased(TransformationPort)
    near_port, far_port = (inputs, outputs) if forward else (outputs, inputs)
    near = frontier_table(session)
    transformations = (
        sql_select(
            near.c.value,
            col(far_port.node_id),
            col(far_port.node_uri),
            literal(Relation.TRANSFORMATION.value),
            col(outputs.batch_id),
            col(outputs.event_index),
            col(inputs.transformation_id),
        )
        .join_from(
            near,
            near_port,
            (col(near_port.node_id) == near.c.value)
            & (col(near_port.side) == (Side.INPUT if forward else Side.OUTPUT).value),
        )
        .join(
            far_port,
            (col(far_port.transformation_id) == near_port.transformation_id)
            & (col(far_port.side) == (Side.OUTPUT if forward else Side.INPUT).value)
            & (col(far_port.node_id) != near_port.node_id),
        )
    )
    parent_ends = (col(BatchParent.parent_id), col(BatchParent.child_id))
    parent_near, parent_far = parent_ends if forward else parent_ends[::-1]
    near = frontier_table(session)
    created = sql_select(
        near.c.value,
        parent_far,
        null(),
        literal(Relation.CREATE_BATCH.value),
        null(),
        null(),
        null(),
    ).join_from(near, BatchParent, parent_near == near.c.value)
    return union_all(epcis, transformations, created)
