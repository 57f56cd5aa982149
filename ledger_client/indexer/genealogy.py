"""Genealogy at index time: the edges an EPCIS event makes between the objects it names.

An edge runs downstream, from what an object came from or went into to what it became:
aggregation and association children → their parent (ADD and OBSERVE; a DELETE undoes a
containment, it makes none), transformation inputs → outputs. A transformation event with a
`transformationID` stores its inputs and outputs as `TransformationPort`s instead, so every
input of every event of that transformation reaches every output of every one of them, in
whatever order and blocks they are anchored. `createBatch` parents are `batch_parent` rows.

Objects are nodes by their canonical identifier (`identifier_forms`: an EPC URN and the
Digital Link of one lot are one node) and keyed by its keccak256, which for a lot or item is
its on-chain batch id, so EPCIS edges and `createBatch` parents meet at the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from ledger_client.epcis_query.extraction import MAX_INDEXED_TEXT, identifier_forms
from ledger_client.hashing import keccak256

_HASH_LENGTH = 66


class Relation(StrEnum):
    """What made an edge."""

    AGGREGATION = "aggregation"
    ASSOCIATION = "association"
    TRANSFORMATION = "transformation"
    CREATE_BATCH = "createBatch"


class Side(StrEnum):
    """Which side of a transformation an object is on."""

    INPUT = "input"
    OUTPUT = "output"


_CONTAINMENT = {
    "AggregationEvent": Relation.AGGREGATION,
    "AssociationEvent": Relation.ASSOCIATION,
}
# The EPCIS event types that make edges.
GENEALOGY_EVENT_TYPES = (*_CONTAINMENT, "TransformationEvent")


@dataclass(frozen=True)
class Node:
    """An object of the genealogy: `id` is keccak256 of `uri`, its canonical identifier."""

    id: str
    uri: str


@dataclass(frozen=True)
class Edge:
    """`source` went into, or was made into, `target`."""

    source: Node
    target: Node
    relation: Relation


@dataclass(frozen=True)
class Port:
    """`node` is an input or output of transformation `transformation_id`."""

    transformation_id: str
    side: Side
    node: Node


@dataclass(frozen=True)
class Genealogy:
    """What one event adds to the genealogy."""

    edges: list[Edge]
    ports: list[Port]


@lru_cache(maxsize=65_536)
def node_of(text: str) -> Node:
    """The node an identifier names, written as an EPC URN, a Digital Link or any other URI."""
    uri = identifier_forms(text)[0]
    return Node("0x" + keccak256(uri.encode()).hex(), uri)


def genealogy_of(event: Mapping[str, Any]) -> Genealogy:
    """The edges and transformation ports an EPCIS 2.0 event (as anchored) makes; nothing for
    an event of another type or a misshapen field (what cannot be read is left out)."""
    event_type = event.get("type")
    if event_type == "TransformationEvent":
        inputs = _nodes(event, "inputEPCList", "inputQuantityList")
        outputs = _nodes(event, "outputEPCList", "outputQuantityList")
        transformation_id = event.get("transformationID")
        if isinstance(transformation_id, str) and _storable(transformation_id):
            ports = [Port(transformation_id, Side.INPUT, n) for n in inputs]
            ports += [Port(transformation_id, Side.OUTPUT, n) for n in outputs]
            return Genealogy([], ports)
        edges = [
            Edge(i, o, Relation.TRANSFORMATION) for i in inputs for o in outputs if i.id != o.id
        ]
        return Genealogy(edges, [])
    relation = _CONTAINMENT.get(event_type) if isinstance(event_type, str) else None
    parent = event.get("parentID")
    if relation is None or event.get("action") == "DELETE" or not isinstance(parent, str):
        return Genealogy([], [])
    if not _storable(parent):
        return Genealogy([], [])
    container = node_of(parent)
    children = _nodes(event, "childEPCs", "childQuantityList")
    return Genealogy([Edge(c, container, relation) for c in children if c.id != container.id], [])


def _storable(text: str) -> bool:
    return len(text) <= MAX_INDEXED_TEXT


def _nodes(event: Mapping[str, Any], instances: str, quantities: str) -> list[Node]:
    """The distinct nodes of an instance list and a quantity list, in order."""
    texts: list[str] = []
    epcs = event.get(instances)
    texts += [e for e in epcs if isinstance(e, str)] if isinstance(epcs, list) else []
    elements = event.get(quantities)
    for element in elements if isinstance(elements, list) else []:
        epc_class = element.get("epcClass") if isinstance(element, Mapping) else None
        if isinstance(epc_class, str):
            texts.append(epc_class)
    nodes = {node.id: node for node in (node_of(t) for t in texts if _storable(t))}
    return list(nodes.values())


class EpcisEdge(SQLModel, table=True):
    """An edge of the genealogy made by an EPCIS event (`batch_id`, `event_index`)."""

    __tablename__ = "epcis_edge"
    __table_args__ = (
        Index("ix_epcis_edge_source", "source_id"),
        Index("ix_epcis_edge_target", "target_id"),
        Index("ix_epcis_edge_block", "block_number"),
    )

    batch_id: str = Field(primary_key=True, max_length=_HASH_LENGTH)
    event_index: int = Field(primary_key=True, sa_type=BigInteger)
    ordinal: int = Field(primary_key=True)
    block_number: int = Field(sa_type=BigInteger)
    source_id: str = Field(max_length=_HASH_LENGTH)
    source_uri: str = Field(sa_column=Column(Text, nullable=False))
    target_id: str = Field(max_length=_HASH_LENGTH)
    target_uri: str = Field(sa_column=Column(Text, nullable=False))
    relation: str = Field(max_length=16)


class TransformationPort(SQLModel, table=True):
    """An input or output of a transformation, by its `transformationID`, as one EPCIS event
    (`batch_id`, `event_index`) records it."""

    __tablename__ = "transformation_port"
    __table_args__ = (
        Index("ix_transformation_port_node", "node_id", "side"),
        Index("ix_transformation_port_transformation", "transformation_id", "side"),
        Index("ix_transformation_port_block", "block_number"),
    )

    batch_id: str = Field(primary_key=True, max_length=_HASH_LENGTH)
    event_index: int = Field(primary_key=True, sa_type=BigInteger)
    ordinal: int = Field(primary_key=True)
    block_number: int = Field(sa_type=BigInteger)
    transformation_id: str = Field(sa_column=Column(Text, nullable=False))
    side: str = Field(max_length=8)
    node_id: str = Field(max_length=_HASH_LENGTH)
    node_uri: str = Field(sa_column=Column(Text, nullable=False))


def genealogy_rows(
    event: Mapping[str, Any], key: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The `epcis_edge` and `transformation_port` rows of `event`, each with `key`
    (batch_id, event_index, block_number)."""
    made = genealogy_of(event)
    edges = [
        {
            **key,
            "ordinal": ordinal,
            "source_id": edge.source.id,
            "source_uri": edge.source.uri,
            "target_id": edge.target.id,
            "target_uri": edge.target.uri,
            "relation": edge.relation.value,
        }
        for ordinal, edge in enumerate(made.edges)
    ]
    ports = [
        {
            **key,
            "ordinal": ordinal,
            "transformation_id": port.transformation_id,
            "side": port.side.value,
            "node_id": port.node.id,
            "node_uri": port.node.uri,
        }
        for ordinal, port in enumerate(made.ports)
    ]
    return edges, ports


def _covering(name: str, near: str, far: str, far_uri: str) -> tuple[Index, Index]:
    """An index of `genealogy_link` by its `near` end: covering on SQLite, plain elsewhere."""
    read = (far, far_uri, "relation", "batch_id", "event_index", "transformation_id")
    return (
        Index(name, near).ddl_if(callable_=_not_sqlite),
        Index(f"{name}_covering", near, *read).ddl_if(dialect="sqlite"),
    )


def _not_sqlite(*_: Any, dialect: Any, **__: Any) -> bool:
    return bool(dialect.name != "sqlite")


class GenealogyLink(SQLModel, table=True):
    """One edge of the genealogy whatever made it, derived at index time (`links`) from
    `epcis_edge`, `transformation_port` (every input × every output of a transformation id)
    and `batch_parent`, so a trace looks up each level with one index. `source_uri` and
    `target_uri` are None for a `createBatch` parent; `batch_id`, `event_index` name the event
    that made it (for a transformation, the one recording the output), None for `createBatch`.
    `block_number`: the latest block of the rows it is made of (a reorg below it undoes it)."""

    __tablename__ = "genealogy_link"
    __table_args__ = (
        # On SQLite each end's index holds every column a level reads, so a lookup never
        # visits the table (a second B-tree search per row: 6 % of a 100,000-node trace).
        # Not on PostgreSQL, whose btree refuses entries over ~2,700 bytes (two long URIs).
        *_covering("ix_genealogy_link_source", "source_id", "target_id", "target_uri"),
        *_covering("ix_genealogy_link_target", "target_id", "source_id", "source_uri"),
        Index("ix_genealogy_link_block", "block_number"),
    )

    # On SQLite an INTEGER primary key is the rowid itself: no second key to store.
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    source_id: str = Field(max_length=_HASH_LENGTH)
    source_uri: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    target_id: str = Field(max_length=_HASH_LENGTH)
    target_uri: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    relation: str = Field(max_length=16)
    batch_id: str | None = Field(default=None, max_length=_HASH_LENGTH)
    event_index: int | None = Field(default=None, sa_type=BigInteger)
    transformation_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    block_number: int = Field(sa_type=BigInteger)
