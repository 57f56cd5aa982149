"""The edges one EPCIS event makes (pure: no chain, no database)."""

from __future__ import annotations

from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.genealogy import Relation, Side, genealogy_of, node_of
from tests.ledger_client.indexer.trace_factories import (
    PALLET,
    PALLET_URN,
    SN1,
    SN2,
    URN_CLASS,
    URN_ITEM,
    A,
    C,
    quantity,
)


def pairs(event):
    return [(e.source.uri, e.target.uri, e.relation) for e in genealogy_of(event).edges]


def test_an_epc_urn_and_a_digital_link_of_one_thing_are_one_node():
    assert node_of(URN_ITEM + "SN-1") == node_of(SN1)
    assert node_of(PALLET_URN) == node_of(PALLET)
    # A lot's node id is its on-chain batch id: keccak256 of its canonical Digital Link.
    assert node_of(URN_CLASS + "LOT-A").id == "0x" + DigitalLink.parse(A).batch_id.hex()


def test_aggregation_children_go_into_their_parent_once_each():
    event = {
        "type": "AggregationEvent",
        "action": "ADD",
        "parentID": PALLET_URN,
        "childEPCs": [URN_ITEM + "SN-1", SN1, SN2],
        "childQuantityList": [quantity(A, 2), {"quantity": 1}],
    }
    assert pairs(event) == [
        (SN1, PALLET, Relation.AGGREGATION),
        (SN2, PALLET, Relation.AGGREGATION),
        (A, PALLET, Relation.AGGREGATION),
    ]


def test_association_makes_edges_and_disaggregation_none():
    association = {
        "type": "AssociationEvent",
        "action": "OBSERVE",
        "parentID": "urn:epc:id:grai:9506000.00001.7",
        "childEPCs": [SN1],
    }
    [(_, parent, relation)] = pairs(association)
    assert relation is Relation.ASSOCIATION and parent == node_of(association["parentID"]).uri
    assert pairs({**association, "type": "AggregationEvent", "action": "DELETE"}) == []


def test_transformation_without_id_links_every_input_to_every_output():
    event = {
        "type": "TransformationEvent",
        "inputEPCList": [SN1],
        "inputQuantityList": [quantity(A, 1)],
        "outputQuantityList": [quantity(C, 1), quantity(URN_CLASS + "LOT-A", 1)],
    }
    # A → A (the same lot on both sides) is no edge.
    assert pairs(event) == [
        (SN1, C, Relation.TRANSFORMATION),
        (SN1, A, Relation.TRANSFORMATION),
        (A, C, Relation.TRANSFORMATION),
    ]


def test_transformation_with_id_leaves_ports_to_join_across_events():
    made = genealogy_of(
        {
            "type": "TransformationEvent",
            "transformationID": "urn:uuid:t",
            "inputQuantityList": [quantity(A, 1)],
            "outputEPCList": [SN1],
        }
    )
    assert made.edges == []
    assert [(p.transformation_id, p.side, p.node.uri) for p in made.ports] == [
        ("urn:uuid:t", Side.INPUT, A),
        ("urn:uuid:t", Side.OUTPUT, SN1),
    ]


def test_other_events_and_misshapen_fields_make_nothing():
    assert pairs({"type": "ObjectEvent", "action": "ADD", "epcList": [SN1]}) == []
    assert (
        pairs({"type": "AggregationEvent", "action": "ADD", "parentID": 7, "childEPCs": [SN1]})
        == []
    )
    assert pairs({"type": "AggregationEvent", "parentID": PALLET, "childEPCs": "x"}) == []
    assert (
        pairs({"type": "TransformationEvent", "inputEPCList": {"a": 1}, "outputEPCList": [SN1]})
        == []
    )
    assert genealogy_of({"type": ["TransformationEvent"]}).ports == []
