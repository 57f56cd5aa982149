"""Capture planning (pure): event ids assigned by the CBV 2.0 event hash, every lot and
item named filed once under its canonical Digital Link, bad documents refused by path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ledger_client.epcis.capture_plan import TooManyEvents, plan_capture
from ledger_client.epcis.event_hash import event_hash_ids
from ledger_client.epcis.validation import InvalidEpcisEvent, Validator
from ledger_client.identifiers import DigitalLink
from ledger_client.lifecycle import EventKind
from tests.factories import SHARED
from tests.ledger_client.epcis.official_epcis_examples import load

OFFICIAL_SCHEMA = SHARED / "conformance" / "epcis" / "schema"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
LOT = DigitalLink.lot("09506000134352", "L1")
ITEM = DigitalLink.item("09506000134352", "S1")


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(official_schema_dir=OFFICIAL_SCHEMA)


def _document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def _event(**fields: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": "2026-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        **fields,
    }


def test_an_event_without_eventid_gets_its_cbv_hash_id_and_one_with_keeps_its_own(validator):
    document = _document(
        _event(epcList=[ITEM.uri]), _event(eventID="urn:uuid:1", epcList=[ITEM.uri])
    )
    plan = plan_capture(document, validator=validator)
    assert [e.event_id for e in plan.events] == [event_hash_ids(document)[0], "urn:uuid:1"]
    assert [e.assigned_id for e in plan.events] == [True, False]
    first = json.loads(plan.events[0].payload)
    assert first["eventID"].startswith("ni:///sha-256;")
    assert first["@context"] == [CONTEXT]
    assert "eventID" not in document["epcisBody"]["eventList"][0], "the input is left alone"


def test_urn_and_digital_link_of_one_lot_are_one_batch_and_non_lots_file_nothing(validator):
    event = _event(
        epcList=[
            "urn:epc:id:sgtin:9506000.013435.S1",
            ITEM.uri,
            "urn:epc:id:sscc:9506000.0000000001",
        ],
        quantityList=[
            {"epcClass": "urn:epc:class:lgtin:9506000.013435.L1", "quantity": 2},
            {"epcClass": "https://example.com/01/09506000134352/10/L1?x=1", "quantity": 1},
            {"epcClass": "urn:epc:idpat:sgtin:9506000.013435.*", "quantity": 1},
        ],
    )
    plan = plan_capture(_document(event), validator=validator)
    assert plan.events[0].batches == (ITEM, LOT)
    assert plan.batches == (ITEM, LOT)


def test_every_naming_field_files_the_event(validator):
    lots = [DigitalLink.lot("09506000134352", f"L{i}") for i in range(6)]
    aggregation = _event(
        type="AggregationEvent",
        action="ADD",
        parentID=lots[0].uri,
        childEPCs=[lots[1].uri.replace("/10/", "/21/")],
        childQuantityList=[{"epcClass": lots[2].uri, "quantity": 1}],
    )
    transformation = {
        k: v for k, v in _event(type="TransformationEvent").items() if k != "action"
    } | {
        "inputEPCList": [lots[3].uri.replace("/10/", "/21/")],
        "inputQuantityList": [{"epcClass": lots[4].uri, "quantity": 1}],
        "outputQuantityList": [{"epcClass": lots[5].uri, "quantity": 1}],
    }
    plan = plan_capture(_document(aggregation, transformation), validator=validator)
    uris = [[b.uri for b in e.batches] for e in plan.events]
    item = DigitalLink.item
    assert uris == [
        [lots[0].uri, item("09506000134352", "L1").uri, lots[2].uri],
        [item("09506000134352", "L3").uri, lots[4].uri, lots[5].uri],
    ]


def test_kinds_follow_the_biz_step(validator):
    document = _document(
        _event(epcList=[ITEM.uri], bizStep="inspecting"),
        _event(epcList=[ITEM.uri], bizStep="destroying"),
        _event(epcList=[ITEM.uri], bizStep="shipping"),
    )
    kinds = [e.kind for e in plan_capture(document, validator=validator).events]
    assert kinds == [EventKind.INSPECTION, EventKind.DESTRUCTION, EventKind.OTHER]


def test_a_schema_problem_is_refused_with_its_json_path(validator):
    document = _document(_event(epcList=[ITEM.uri]))
    del document["epcisBody"]["eventList"][0]["eventTime"]
    with pytest.raises(InvalidEpcisEvent) as refused:
        plan_capture(document, validator=validator)
    assert (
        "$.epcisBody.eventList[0].eventTime",
        "is required but missing",
    ) in refused.value.problems


def test_a_malformed_gs1_identifier_is_refused_at_its_path(validator):
    bad = "https://id.gs1.org/01/09506000134353/21/S1"  # wrong check digit
    with pytest.raises(InvalidEpcisEvent) as refused:
        plan_capture(_document(_event(epcList=[ITEM.uri, bad])), validator=validator)
    [(path, message)] = refused.value.problems
    assert path == "$.epcisBody.eventList[0].epcList[1]"
    assert "check digit" in message


def test_two_events_with_one_eventid_are_refused(validator):
    document = _document(
        _event(eventID="urn:uuid:1", epcList=[ITEM.uri]),
        _event(eventID="urn:uuid:1", epcList=[LOT.uri.replace("/10/", "/21/")]),
    )
    with pytest.raises(InvalidEpcisEvent) as refused:
        plan_capture(document, validator=validator)
    assert refused.value.problems == [
        ("$.epcisBody.eventList[1].eventID", "'urn:uuid:1' is also the id of event 0")
    ]


def test_two_identical_events_without_ids_are_refused_as_one_hash_id(validator):
    event = _event(epcList=[ITEM.uri])
    with pytest.raises(InvalidEpcisEvent, match=r"eventList\[1\]\.eventID"):
        plan_capture(_document(event, copy.deepcopy(event)), validator=validator)


def test_an_empty_event_list_and_too_many_events_are_refused(validator):
    with pytest.raises(InvalidEpcisEvent, match="holds no event"):
        plan_capture(_document(), validator=validator)
    events = [_event(eventID=f"urn:uuid:{i}", epcList=[ITEM.uri]) for i in range(3)]
    with pytest.raises(TooManyEvents, match="3 events; one capture takes at most 2"):
        plan_capture(_document(*events), validator=validator, max_events=2)


def test_an_official_example_plans_with_its_own_ids(validator):
    document = load("Example_9.6.4-TransformationEvent.jsonld")
    plan = plan_capture(document, validator=validator)
    [event] = plan.events
    assert event.event_id == document["epcisBody"]["eventList"][0]["eventID"]
    assert len(event.batches) == len(set(event.batches)) > 0


def test_a_value_without_a_canonical_form_is_refused_at_its_event(validator):
    event = _event(quantityList=[{"epcClass": LOT.uri, "quantity": 2**53 + 1}])
    with pytest.raises(InvalidEpcisEvent) as refused:
        plan_capture(_document(_event(epcList=[ITEM.uri]), event), validator=validator)
    [(path, message)] = refused.value.problems
    assert path == "$.epcisBody.eventList[1]"
    assert message.startswith("has no canonical JSON form")
