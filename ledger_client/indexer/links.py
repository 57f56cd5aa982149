"""The `genealogy_link` table kept at index time: every edge of the genealogy in one table,
so a trace costs one index lookup per level instead of one per source table (and a join for
transformations).

Links are derived, never exported: `link_genealogy` adds the links made by rows of blocks
from `since` on, once those rows are written. A transformation's input and output may be
anchored in different chunks, so each chunk links its new ports with every port of the same
transformation, old or new; a link's block is the later of its two ports'.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, case, cast, insert, literal, null, true
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col, select

from ledger_client.indexer.genealogy import (
    EpcisEdge,
    GenealogyLink,
    Relation,
    Side,
    TransformationPort,
)
from ledger_client.indexer.read_model import BatchParent

_COLUMNS = (
    "source_id",
    "source_uri",
    "target_id",
    "target_uri",
    "relation",
    "batch_id",
    "event_index",
    "transformation_id",
    "block_number",
)


def link_genealogy(session: Session, since: int | None = None) -> None:
    """Add the links made by the rows of blocks `since` and later (all rows when None), in
    the session's transaction. Rows of earlier blocks must already be linked."""
    for query in _link_queries(since):
        session.execute(insert(GenealogyLink).from_select(_COLUMNS, query))


def links_missing(session: Session) -> bool:
    """Whether the genealogy makes a link the table lacks while it holds none: a read model
    from before the links. (A transformation with inputs and no outputs yet makes none.)"""
    if session.scalars(select(GenealogyLink.id).limit(1)).first() is not None:
        return False
    return any(session.scalar(sql_select(q.exists())) for q in _link_queries(None))


def _link_queries(since: int | None) -> list[Any]:
    def new(column: Any) -> Any:
        return true() if since is None else col(column) >= since

    edges = sql_select(
        col(EpcisEdge.source_id),
        col(EpcisEdge.source_uri),
        col(EpcisEdge.target_id),
        col(EpcisEdge.target_uri),
        col(EpcisEdge.relation),
        col(EpcisEdge.batch_id),
        col(EpcisEdge.event_index),
        cast(null(), Text),
        col(EpcisEdge.block_number),
    ).where(new(EpcisEdge.block_number))
    parents = sql_select(
        col(BatchParent.parent_id),
        cast(null(), Text),
        col(BatchParent.child_id),
        cast(null(), Text),
        literal(Relation.CREATE_BATCH.value),
        cast(null(), Text),
        null(),
        cast(null(), Text),
        col(BatchParent.block_number),
    ).where(new(BatchParent.block_number))
    inputs, outputs = aliased(TransformationPort), aliased(TransformationPort)
    ports = (
        sql_select(
            col(inputs.node_id),
            col(inputs.node_uri),
            col(outputs.node_id),
            col(outputs.node_uri),
            literal(Relation.TRANSFORMATION.value),
            col(outputs.batch_id),
            col(outputs.event_index),
            col(inputs.transformation_id),
            # The later of the two ports' blocks (portable: SQLite has no GREATEST).
            case(
                (col(inputs.block_number) >= outputs.block_number, col(inputs.block_number)),
                else_=col(outputs.block_number),
            ),
        )
        .select_from(inputs)
        .join(
            outputs,
            and_(
                col(outputs.transformation_id) == inputs.transformation_id,
                col(outputs.side) == Side.OUTPUT.value,
                col(outputs.node_id) != inputs.node_id,
            ),
        )
        .where(col(inputs.side) == Side.INPUT.value)
    )
    if since is None:
        return [edges, parents, ports]
    # New inputs with every output, then old inputs with new outputs: each pair once.
    return [
        edges,
        parents,
        ports.where(col(inputs.block_number) >= since),
        ports.where(col(inputs.block_number) < since, col(outputs.block_number) >= since),
    ]
