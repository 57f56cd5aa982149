"""`genealogy_link` against the tables it is made of: on random genealogies indexed block by
block (a transformation's ports spread over blocks), a trace over the links finds the same
nodes and edges as the walk over `epcis_edge`, `transformation_port` and `batch_parent`, in
both directions, before and after a reorg undoes the latest blocks."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert
from sqlalchemy.orm import Session
from sqlmodel import col, select

from ledger_client.db import table_of
from ledger_client.indexer.genealogy import (
    EpcisEdge,
    GenealogyLink,
    Relation,
    Side,
    TransformationPort,
)
from ledger_client.indexer.links import link_genealogy
from ledger_client.indexer.queries import Direction
from ledger_client.indexer.read_model import LOG_TABLES, Batch, BatchParent
from ledger_client.indexer.source_trace import trace_over_sources
from ledger_client.indexer.trace import LinksMissing, trace

pytestmark = pytest.mark.integration

NODES = 40
BLOCKS = 12
EventKey = tuple[str, int] | None
EdgeKey = tuple[str, str, str, str | None]


def _id(n: int) -> str:
    return "0x" + f"{n:064x}"


def _uri(n: int) -> str:
    return f"https://id.gs1.org/01/09506000134352/10/L{n}"


def random_genealogy(rng: random.Random) -> dict[int, dict[type, list[dict[str, Any]]]]:
    """Rows per block: aggregation and association edges (some made again by another event),
    `createBatch` parents, and ports of a few transformations, one node sometimes both an
    input and an output."""
    blocks: dict[int, dict[type, list[dict[str, Any]]]] = {
        b: defaultdict(list) for b in range(1, BLOCKS + 1)
    }
    ordinals: dict[tuple[str, int], int] = defaultdict(int)

    def key(block: int, event: int) -> dict[str, Any]:
        batch = _id(10_000 + event % 7)
        where = {"batch_id": batch, "event_index": event, "block_number": block}
        ordinals[batch, event] += 1
        return {**where, "ordinal": ordinals[batch, event] - 1}

    parents: set[tuple[int, int]] = set()
    for event in range(rng.randrange(40, 90)):
        block = rng.randrange(1, BLOCKS + 1)
        source, target = rng.sample(range(NODES), 2)
        kind = rng.choice(("edge", "edge", "parent", "port", "port"))
        if kind == "edge":
            relation = rng.choice((Relation.AGGREGATION, Relation.ASSOCIATION))
            for _ in range(rng.choice((1, 1, 2))):  # the same edge made twice by one event
                blocks[block][EpcisEdge].append(
                    {
                        **key(block, event),
                        "source_id": _id(source),
                        "source_uri": _uri(source),
                        "target_id": _id(target),
                        "target_uri": _uri(target),
                        "relation": relation.value,
                    }
                )
        elif kind == "parent" and (target, source) not in parents:
            parents.add((target, source))
            blocks[block][BatchParent].append(
                {
                    "child_id": _id(target),
                    "parent_id": _id(source),
                    "block_number": block,
                    "tx_hash": "0x" + "aa" * 32,
                    "log_index": event,
                }
            )
        elif kind == "port":
            for side, node in ((Side.INPUT, source), (Side.OUTPUT, rng.randrange(NODES))):
                blocks[block][TransformationPort].append(
                    {
                        **key(block, event),
                        "transformation_id": f"urn:uuid:t-{rng.randrange(5)}",
                        "side": side.value,
                        "node_id": _id(node),
                        "node_uri": _uri(node),
                    }
                )
    return blocks


def made_by(session: Session) -> dict[EdgeKey, set[EventKey]]:
    """Every event that makes each edge, from the source tables."""
    events: dict[EdgeKey, set[EventKey]] = defaultdict(set)
    for e in session.scalars(select(EpcisEdge)):
        events[e.source_id, e.target_id, e.relation, None].add((e.batch_id, e.event_index))
    for p in session.scalars(select(BatchParent)):
        events[p.parent_id, p.child_id, Relation.CREATE_BATCH.value, None].add(None)
    ports = list(session.scalars(select(TransformationPort)))
    for i in (p for p in ports if p.side == Side.INPUT.value):
        for o in ports:
            same = o.transformation_id == i.transformation_id
            if same and o.side == Side.OUTPUT.value and o.node_id != i.node_id:
                key = (i.node_id, o.node_id, Relation.TRANSFORMATION.value, i.transformation_id)
                events[key].add((o.batch_id, o.event_index))
    return events


def assert_same_walks(engine: Engine) -> int:
    """Compares the two walks from every node; returns how many edges they found."""
    found = 0
    with Session(engine) as session:
        events = made_by(session)
        for n in range(NODES):
            for direction in Direction:
                for depth in (1, 3, 64):
                    options = {"identifier": _id(n), "direction": direction, "depth": depth}
                    old = trace_over_sources(session, **options)
                    new = trace(session, **options)
                    assert new.root == old.root
                    assert sorted(new.nodes) == sorted(old.nodes)
                    assert sorted(e._replace(event=None) for e in new.edges) == sorted(
                        e._replace(event=None) for e in old.edges
                    )
                    for edge in new.edges:
                        key = (edge.source, edge.target, edge.relation, edge.transformation_id)
                        assert edge.event in events[key]
                    assert new.levels == old.levels
                    found += len(new.edges)
    return found


@pytest.mark.parametrize("seed", range(4))
def test_links_walk_as_the_tables_they_are_made_of(engine, seed):
    rng = random.Random(seed)
    blocks = random_genealogy(rng)
    with Session(engine) as session:
        session.execute(insert(table_of(Batch)), [batch(n) for n in range(NODES)])
        for number, rows in blocks.items():  # as the indexer commits its chunks
            for model, model_rows in rows.items():
                session.execute(insert(table_of(model)), model_rows)
            link_genealogy(session, since=number)
        session.commit()
    assert assert_same_walks(engine) > 0

    # A reorg: every log table, links included, loses the rows above block 6.
    with Session(engine) as session:
        for table in LOG_TABLES:
            session.execute(delete(table).where(col(table.block_number) > BLOCKS // 2))
        session.commit()
    assert_same_walks(engine)


def test_a_read_model_with_genealogy_but_no_links_is_refused_until_linked(engine):
    blocks = random_genealogy(random.Random(7))
    with Session(engine) as session:
        session.execute(insert(table_of(Batch)), [batch(n) for n in range(NODES)])
        for rows in blocks.values():
            for model, model_rows in rows.items():
                session.execute(insert(table_of(model)), model_rows)
        session.commit()
        root = next(iter(blocks[1][EpcisEdge] or blocks[2][EpcisEdge]))["target_id"]
        with pytest.raises(LinksMissing, match="provenance index"):
            trace(session, identifier=root, direction="backward")

        link_genealogy(session)
        session.commit()
        assert session.query(GenealogyLink).count() > 0
    assert assert_same_walks(engine) > 0


def batch(n: int) -> dict[str, Any]:
    """A batch row for node `n`: every node is known, and one reached by `createBatch`
    only has its URI from it."""
    return {
        "batch_id": _id(n),
        "uri": _uri(n),
        "kind": "LOT",
        "product_class": "0x" + "bb" * 32,
        "creator": "0x" + "cc" * 20,
        "block_number": 1,
        "tx_hash": "0x" + "dd" * 32,
        "log_index": n,
    }


def test_a_transformation_without_outputs_yet_makes_no_link_and_no_refusal(engine):
    port = {
        "batch_id": _id(10_000),
        "event_index": 0,
        "ordinal": 0,
        "block_number": 1,
        "transformation_id": "urn:uuid:t-open",
        "side": Side.INPUT.value,
        "node_id": _id(1),
        "node_uri": _uri(1),
    }
    with Session(engine) as session:
        session.execute(insert(table_of(TransformationPort)), [port])
        link_genealogy(session, since=1)
        session.commit()
        assert session.query(GenealogyLink).count() == 0
        walked = trace(session, identifier=_id(1), direction="forward")
    assert [n.id for n in walked.nodes] == [_id(1)] and walked.edges == []
