"""What an EPCIS 2.0 event names: every lot and item with its role, on every official
example and on hand-made events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from official_epcis_examples import (
    EXAMPLE_FILES,
    event_list,
    example_id,
    load,
    needs_examples,
)

from ledger_client.epcis.identifiers import canonical_uri
from ledger_client.epcis.named_objects import NamedObject, Role, objects_named
from ledger_client.epcis.validation import InvalidEpcisEvent

pytestmark = [pytest.mark.unit, needs_examples]


def named(event: dict[str, Any]) -> list[tuple[str, str]]:
    return [(thing.role.value, thing.uri) for thing in objects_named(event)]


def written_in(event: dict[str, Any], role: Role) -> list[str]:
    value = event.get(role.value)
    if value is None:
        return []
    if role is Role.PARENT:
        return [value]
    if role.by_class:
        return [element["epcClass"] for element in value]
    return list(value)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=example_id)
def test_every_official_example_names_exactly_what_its_fields_hold(path: Path) -> None:
    for event in event_list(load(example_id(path))):
        things = objects_named(event)
        for role in Role:
            expected = list(dict.fromkeys(canonical_uri(text) for text in written_in(event, role)))
            assert [thing.uri for thing in things if thing.role is role] == expected, role
        for thing in things:
            # GS1 identifiers all, each read from what the event wrote.
            assert thing.identifier is not None
            assert thing.uri == thing.identifier.uri == canonical_uri(thing.written)
            assert thing.written in written_in(event, thing.role)


def test_aggregation_example_by_hand() -> None:
    [event] = event_list(load("Example_9.6.3-AggregationEvent.jsonld"))
    assert named(event) == [
        ("parentID", "https://id.gs1.org/00/106141412345678908"),
        ("childEPCs", "https://id.gs1.org/01/10614141073464/21/2017"),
        ("childEPCs", "https://id.gs1.org/01/10614141073464/21/2018"),
        ("childQuantityList", "https://id.gs1.org/01/04012345987652"),
        ("childQuantityList", "https://id.gs1.org/01/04012345123456/10/998877"),
    ]
    kinds = [thing.identifier.kind for thing in objects_named(event) if thing.identifier]
    assert kinds == ["logistic_unit", "item", "item", "product", "lot"]


def test_transformation_example_by_hand() -> None:
    [event] = event_list(load("Example_9.6.4-TransformationEvent.jsonld"))
    assert named(event) == [
        ("inputEPCList", "https://id.gs1.org/01/04012345111224/21/25"),
        ("inputEPCList", "https://id.gs1.org/01/04000001654321/21/99886655"),
        ("inputQuantityList", "https://id.gs1.org/01/04012345111118/10/4444"),
        ("inputQuantityList", "https://id.gs1.org/01/00614141777778/10/987"),
        ("inputQuantityList", "https://id.gs1.org/01/04012345666663"),
        ("outputEPCList", "https://id.gs1.org/01/04012345778892/21/25"),
        ("outputEPCList", "https://id.gs1.org/01/04012345778892/21/26"),
        ("outputEPCList", "https://id.gs1.org/01/04012345778892/21/27"),
        ("outputEPCList", "https://id.gs1.org/01/04012345778892/21/28"),
    ]


def test_association_example_names_its_asset_and_what_is_attached() -> None:
    [event] = event_list(load("AssociationEvent/AssociationEvent-b.jsonld"))
    assert named(event) == [
        ("parentID", "https://id.gs1.org/414/4012345000023/254/12"),
        ("childEPCs", "https://id.gs1.org/8004/400000112346"),
    ]
    assert [thing.identifier.kind for thing in objects_named(event) if thing.identifier] == [
        "location",
        "asset",
    ]


@pytest.mark.parametrize(
    ("urn_file", "link_file"),
    [
        ("Example_9.6.3-AggregationEvent", "Example_9.6.3-AggregationEventWithDigitalLink"),
        ("Example_9.6.4-TransformationEvent", "Example_9.6.4-TransformationEventWithDigitalLink"),
    ],
)
def test_urn_and_digital_link_twins_name_the_same_classes(urn_file: str, link_file: str) -> None:
    # The twins use the same lots and products (their serialized items differ).
    [urn_event] = event_list(load(f"{urn_file}.jsonld"))
    [link_event] = event_list(load(f"WithDigitalLinkID/{link_file}.jsonld"))
    by_class = [(role, uri) for role, uri in named(urn_event) if Role(role).by_class]
    assert by_class
    assert by_class == [(role, uri) for role, uri in named(link_event) if Role(role).by_class]


def test_events_naming_no_lot_or_item_name_nothing() -> None:
    [event] = event_list(load("WithSensorData/SensorDataExample1b.jsonld"))
    assert objects_named(event) == []


def test_one_object_named_twice_in_one_role_is_listed_once() -> None:
    event = {
        "type": "ObjectEvent",
        "epcList": [
            "urn:epc:id:sgtin:0614141.107346.2017",
            "https://example.com/01/10614141073464/21/2017",
        ],
        "quantityList": [{"epcClass": "https://id.gs1.org/01/10614141073464/21/2017"}],
    }
    assert [(thing.role, thing.written) for thing in objects_named(event)] == [
        (Role.EPC, "urn:epc:id:sgtin:0614141.107346.2017"),
        (Role.QUANTITY, "https://id.gs1.org/01/10614141073464/21/2017"),
    ]


def test_uris_outside_gs1_are_named_as_written() -> None:
    event = {"type": "ObjectEvent", "epcList": ["urn:epc:id:gid:95100000.12345.400"]}
    assert objects_named(event) == [
        NamedObject(
            Role.EPC, "urn:epc:id:gid:95100000.12345.400", "urn:epc:id:gid:95100000.12345.400", None
        )
    ]


def test_every_malformed_identifier_and_field_is_refused_by_path() -> None:
    event = {
        "type": "TransformationEvent",
        "inputEPCList": ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.1.1"],
        "inputQuantityList": [{"quantity": 3}, "x"],
        "outputEPCList": "https://id.gs1.org/01/09506000134352/21/1",
        "parentID": 7,
        "epcList": [7, "https://id.gs1.org/01/09506000134353/21/1"],
    }
    with pytest.raises(InvalidEpcisEvent) as raised:
        objects_named(event)
    paths = [path for path, _ in raised.value.problems]
    assert paths == [
        "$.epcList[0]",
        "$.epcList[1]",
        "$.parentID",
        "$.inputEPCList[1]",
        "$.inputQuantityList[0].epcClass",
        "$.inputQuantityList[1].epcClass",
        "$.outputEPCList",
    ]
    message = str(raised.value)
    assert "'https://id.gs1.org/01/09506000134353/21/1'" in message
    assert "GTIN check digit is 3, expected 2" in message
    assert "'urn:epc:id:sgtin:0614141.1.1'" in message


def test_only_quantity_lists_name_classes() -> None:
    assert {role for role in Role if role.by_class} == {
        Role.QUANTITY,
        Role.CHILD_QUANTITY,
        Role.INPUT_QUANTITY,
        Role.OUTPUT_QUANTITY,
    }
