"""Trace and recall scope over genealogy indexed from the chain: EPCIS transformation and
aggregation edges (checked against a graph worked out by hand), `createBatch` parents, depth
limits, refusals, reorgs and the refusal of a read model from before the genealogy tables.

These tests rewrite chain history, so they run on an anvil of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session
from web3 import Web3

from ledger_client.chain import connect, rpc
from ledger_client.indexer.genealogy import EpcisEdge, GenealogyLink, TransformationPort
from ledger_client.indexer.indexer import Indexer, IndexerError, rebuild
from ledger_client.indexer.trace import (
    Holder,
    LinksMissing,
    TraceRefused,
    UnknownObject,
    recall_scope,
    trace,
)
from ledger_client.ledger import BatchKind, EventKind
from ledger_client.local_chain import running_anvil
from ledger_client.nonces import NonceManager
from tests.ledger_client.indexer.indexer_factories import export_of, record
from tests.ledger_client.indexer.trace_factories import (
    CARRIER,
    EDGES,
    EPCIS_ONLY_EVENTS,
    PALLET,
    PALLET_URN,
    SN1,
    SN2,
    T2,
    URN_CLASS,
    A,
    B,
    C,
    D,
    item,
    lot,
    node,
    payload,
    quantity,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def w3(compiled: None) -> Iterator[Web3]:
    """Overrides the session's chain: the reorg here must not touch other tests."""
    with running_anvil() as chain:
        yield connect(chain.rpc_url)


@pytest.fixture
def indexed(consortium, databases):
    """The EPCIS-only genealogy anchored under lot D (created without parents) and indexed;
    (engine, D's batch id, the indexer)."""
    writer = consortium.writer()
    lot_d = writer.create_batch(D)
    record(writer, lot_d, EPCIS_ONLY_EVENTS)
    engine = databases.engine()
    indexer = Indexer(consortium.w3, consortium.deployment, engine)
    indexer.run_once()
    return engine, lot_d, indexer


def graph(walked) -> tuple[dict[str, int], dict[tuple[str, str], tuple[str, str | None, int]]]:
    """({uri: depth}, {(source uri, target uri): (relation, transformation id, depth)})."""
    uri = {n.id: n.uri for n in walked.nodes}
    return (
        {n.uri: n.depth for n in walked.nodes},
        {
            (uri[e.source], uri[e.target]): (e.relation, e.transformation_id, e.depth)
            for e in walked.edges
        },
    )


def expected_edges(pairs, depths):
    return {pair: (*EDGES[pair], depths[pair]) for pair in pairs}


def test_backward_trace_over_epcis_only_genealogy(indexed):
    engine, lot_d, _ = indexed
    with Session(engine) as session:
        walked = trace(session, identifier=PALLET_URN, direction="backward", depth=64)
    nodes, edges = graph(walked)

    assert walked.root.uri == PALLET
    assert nodes == {PALLET: 0, SN1: 1, SN2: 1, C: 2, A: 3, B: 3}
    depths = {(SN1, PALLET): 1, (SN2, PALLET): 1, (C, SN1): 2, (C, SN2): 2, (A, C): 3, (B, C): 3}
    assert edges == expected_edges(depths, depths)
    events = {(e.source, e.target): e.event for e in walked.edges}
    d = "0x" + lot_d.hex()
    # Each edge names the event that made it: T1 is event 0, T2's outputs event 2, the
    # aggregation event 3.
    assert events[(node(A), node(C))] == (d, 0)
    assert events[(node(C), node(SN1))] == (d, 2)
    assert events[(node(SN2), node(PALLET))] == (d, 3)


def test_backward_trace_stops_at_its_depth(indexed):
    engine, _, _ = indexed
    with Session(engine) as session:
        walked = trace(session, identifier=PALLET, direction="backward", depth=2)
    nodes, edges = graph(walked)

    assert nodes == {PALLET: 0, SN1: 1, SN2: 1, C: 2}
    depths = {(SN1, PALLET): 1, (SN2, PALLET): 1, (C, SN1): 2, (C, SN2): 2}
    assert edges == expected_edges(depths, depths)


def test_forward_trace_over_epcis_only_genealogy(indexed):
    engine, _, _ = indexed
    with Session(engine) as session:
        walked = trace(session, identifier=URN_CLASS + "LOT-A", direction="forward", depth=64)
        one_level = trace(session, identifier=A, direction="forward", depth=1)
    nodes, edges = graph(walked)

    assert nodes == {A: 0, C: 1, D: 2, SN1: 2, SN2: 2, PALLET: 3}
    depths = {(A, C): 1, (C, D): 2, (C, SN1): 2, (C, SN2): 2, (SN1, PALLET): 3, (SN2, PALLET): 3}
    assert edges == expected_edges(depths, depths)
    assert graph(one_level) == ({A: 0, C: 1}, expected_edges({(A, C): 1}, {(A, C): 1}))


def test_a_trace_asks_once_per_level_not_per_node(indexed):
    engine, _, _ = indexed
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with Session(engine) as session:
            driver = session.connection().connection.driver_connection
            if engine.dialect.name == "sqlite":
                # SQLite's levels run on the driver's connection, past SQLAlchemy's events.
                driver.set_trace_callback(statements.append)
            walked = trace(session, identifier=A, direction="forward", depth=64)
            if engine.dialect.name == "sqlite":
                driver.set_trace_callback(None)
    finally:
        event.remove(engine, "before_cursor_execute", listener)

    # Levels 1-3 reach nodes, level 4 finds nothing beyond the pallet.
    assert walked.levels == 4
    level_queries = [s for s in statements if "JOIN genealogy_link" in s]
    assert len(level_queries) == 4


def test_recall_scope_lists_everything_downstream_with_status_and_holder(indexed, consortium):
    engine, lot_d, indexer = indexed
    consortium.writer(consortium.quality).quarantine(lot_d, "seal broken")
    indexer.run_once()
    with Session(engine) as session:
        scope = recall_scope(session, identifier=A)

    objects = {o.uri: o for o in scope.objects}
    assert set(objects) == {C, D, SN1, SN2, PALLET}
    assert {uri: (o.kind, o.depth, o.status) for uri, o in objects.items()} == {
        C: ("LOT", 1, None),
        D: ("LOT", 2, "QUARANTINED"),
        SN1: ("ITEM", 2, None),
        SN2: ("ITEM", 2, None),
        PALLET: ("OTHER", 3, None),
    }
    # The shipping event's possessing party, not its owning party; D's on-chain custodian.
    assert objects[PALLET].holder == Holder(CARRIER, "possessing_party", "epcis")
    assert objects[D].holder == Holder(consortium.operator.address, None, "chain")
    assert objects[SN1].holder is None


def test_trace_through_create_batch_parents_and_epcis_edges(consortium, databases):
    writer = consortium.writer()
    x = writer.create_batch(lot("LOT-X"))
    y = writer.create_batch(lot("LOT-Y"), parents=[x])
    z_uri = item("SN-Z")
    record(
        writer,
        y,
        [
            payload(
                {
                    "type": "TransformationEvent",
                    "inputQuantityList": [quantity(lot("LOT-Y"), 1)],
                    "outputEPCList": [z_uri],
                },
                0,
            )
        ],
        EventKind.OTHER,
    )
    engine = databases.engine()
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    with Session(engine) as session:
        forward = trace(session, identifier="0x" + x.hex(), direction="forward", depth=5)
        backward = trace(session, identifier=z_uri, direction="backward", depth=5)

    created = (lot("LOT-X"), lot("LOT-Y"))
    made = (lot("LOT-Y"), z_uri)
    assert graph(forward) == (
        {lot("LOT-X"): 0, lot("LOT-Y"): 1, z_uri: 2},
        {created: ("createBatch", None, 1), made: ("transformation", None, 2)},
    )
    assert graph(backward) == (
        {z_uri: 0, lot("LOT-Y"): 1, lot("LOT-X"): 2},
        {made: ("transformation", None, 1), created: ("createBatch", None, 2)},
    )
    parent_edge = next(e for e in forward.edges if e.relation == "createBatch")
    assert parent_edge.event is None


@pytest.mark.parametrize(
    ("identifier", "depth", "direction", "says"),
    [
        ("https://id.gs1.org/01/09506000134353/10/LOT-A", 3, "backward", "09506000134353"),
        ("not an identifier", 3, "backward", "'not an identifier'"),
        ("0x1234", 3, "backward", "'0x1234'"),
        (A, 0, "backward", "between 1 and 64"),
        (A, 65, "backward", "between 1 and 64"),
        (A, 3, "sideways", "'sideways'"),
    ],
)
def test_bad_requests_are_refused_naming_what_is_wrong(indexed, identifier, depth, direction, says):
    engine, _, _ = indexed
    with Session(engine) as session, pytest.raises(TraceRefused, match=says):
        trace(session, identifier=identifier, direction=direction, depth=depth)


def test_unknown_objects_are_told_apart_from_bad_ones(indexed):
    engine, _, _ = indexed
    with Session(engine) as session:
        with pytest.raises(UnknownObject, match="LOT-NOWHERE"):
            trace(session, identifier=lot("LOT-NOWHERE"))
        with pytest.raises(UnknownObject):
            recall_scope(session, identifier="0x" + "ab" * 32)


def test_a_reorg_takes_its_edges_away(indexed, consortium, w3):
    engine, lot_d, indexer = indexed
    snapshot = rpc(w3, "anvil_snapshot", [])
    writer = consortium.writer()
    extra = payload(
        {
            "type": "AggregationEvent",
            "action": "ADD",
            "parentID": "urn:epc:id:sscc:9506000.0000000009",
            "childEPCs": [PALLET],
        },
        9,
    )
    record(writer, lot_d, [extra])
    indexer.run_once()
    with Session(engine) as session:
        assert len(trace(session, identifier=PALLET, direction="forward").nodes) == 2

    assert rpc(w3, "anvil_revert", [snapshot]) is True
    for account in (consortium.governor, consortium.operator, consortium.quality):
        NonceManager.of(w3, account.address).resync()
    rpc(w3, "anvil_mine", [hex(3)])
    progress = indexer.run_once()

    assert progress.rewound_to is not None
    with Session(engine) as session:
        assert [n.uri for n in trace(session, identifier=PALLET, direction="forward").nodes] == [
            PALLET
        ]
        assert session.scalar(select(func.count()).select_from(EpcisEdge)) == 4


def test_a_read_model_without_genealogy_must_be_rebuilt(indexed, consortium):
    engine, _, indexer = indexed
    indexed_export = export_of(engine)
    assert indexed_export.count(b'"table":"epcis_edge"') == 4
    with Session(engine) as session:
        session.execute(delete(EpcisEdge))
        session.execute(delete(TransformationPort))
        session.commit()

    with pytest.raises(IndexerError, match="index rebuild"):
        indexer.run_once()

    rebuild(consortium.w3, consortium.deployment, engine)
    assert export_of(engine) == indexed_export
    with Session(engine) as session:
        assert len(trace(session, identifier=PALLET, direction="backward").nodes) == 6
        ports = session.scalars(select(TransformationPort.transformation_id)).all()
    assert set(ports) == {T2} and len(ports) == 4


def test_a_read_model_from_before_the_links_is_linked_when_the_indexer_starts(indexed):
    engine, _, indexer = indexed
    with Session(engine) as session:
        before = trace(session, identifier=PALLET, direction="backward")
        session.execute(delete(GenealogyLink))
        session.commit()
        with pytest.raises(LinksMissing, match="index rebuild"):
            trace(session, identifier=PALLET, direction="backward")

    indexer.run_once()
    with Session(engine) as session:
        after = trace(session, identifier=PALLET, direction="backward")
    assert len(after.nodes) == 6
    assert sorted(after.nodes) == sorted(before.nodes)
    assert sorted(after.edges) == sorted(before.edges)


def test_items_of_a_batch_kind_item_are_items(consortium, databases):
    writer = consortium.writer()
    serial = writer.create_batch(item("SN-K"), kind=BatchKind.ITEM)
    record(
        writer,
        serial,
        [
            payload(
                {
                    "type": "AggregationEvent",
                    "action": "OBSERVE",
                    "parentID": PALLET_URN,
                    "childEPCs": [item("SN-K")],
                },
                0,
            )
        ],
    )
    engine = databases.engine()
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    with Session(engine) as session:
        scope = recall_scope(session, identifier=item("SN-K"))
    assert [(o.uri, o.kind, o.status) for o in scope.objects] == [(PALLET, "OTHER", None)]
