"""EPCIS 2.0 validation: the project's schema, GS1's official one, and the problem list."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ledger_client.epcis.document import events_of
from ledger_client.epcis.schema import CBV_BIZ_STEPS, CBV_DISPOSITIONS
from ledger_client.epcis.validation import (
    OFFICIAL_ROOT_ID,
    InvalidEpcisEvent,
    Validator,
    is_date_time,
    is_uri,
)
from ledger_client.errors import ConfigurationError, LedgerError
from tests.factories import SHARED

pytestmark = pytest.mark.unit

EPCIS = SHARED / "conformance" / "epcis"
OFFICIAL_SCHEMA = EPCIS / "schema"
EXAMPLES = sorted((EPCIS / "examples").rglob("*.jsonld"))
DOCUMENTS = [p for p in EXAMPLES if json.loads(p.read_text("utf-8"))["type"] == "EPCISDocument"]
needs_conformance = pytest.mark.skipif(
    not OFFICIAL_SCHEMA.is_dir(), reason=f"GS1 EPCIS conformance data not found at {EPCIS}"
)

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
EVENT: dict[str, Any] = {
    "@context": CONTEXT,
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "bizStep": "inspecting",
    "disposition": "in_progress",
    "epcList": ["https://id.gs1.org/01/09506000134352/10/LOT1"],
    "eventTime": "2024-03-01T10:00:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "eventID": "urn:uuid:7c1c3a5e-3a55-4f73-9f1a-2a0b2f8d6e10",
}


def _document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T10:00:00Z",
        "epcisBody": {
            "eventList": [{k: v for k, v in e.items() if k != "@context"} for e in events]
        },
    }


def _problems(validator: Validator, value: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidEpcisEvent) as caught:
        validator.validate(value)
    return caught.value.problems


@pytest.fixture(scope="module")
def official() -> Validator:
    return Validator(official_schema_dir=OFFICIAL_SCHEMA)


def _example_id(path: Path) -> str:
    return path.relative_to(EPCIS / "examples").as_posix()


# --- Official examples ------------------------------------------------------------------


@needs_conformance
@pytest.mark.parametrize("path", DOCUMENTS, ids=_example_id)
def test_official_example_documents_validate_with_both_schemas(
    path: Path, official: Validator
) -> None:
    document = json.loads(path.read_text("utf-8"))
    Validator().validate(document)
    official.validate(document)


@needs_conformance
@pytest.mark.parametrize("path", DOCUMENTS, ids=_example_id)
def test_each_anchorable_event_of_the_examples_validates_alone(
    path: Path, official: Validator
) -> None:
    for event in events_of(json.loads(path.read_text("utf-8"))):
        official.validate(event)


@needs_conformance
@pytest.mark.parametrize("path", DOCUMENTS, ids=_example_id)
def test_a_valid_document_passes_the_compiled_schemas_without_jsonschema(
    path: Path, official: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger_client.epcis.validation as validation

    def walked(*_: Any) -> None:
        raise AssertionError("jsonschema walked a document the compiled schemas accept")

    document = json.loads(path.read_text("utf-8"))
    monkeypatch.setattr(validation, "_problems", walked)
    official.validate(document)
    mutated = copy.deepcopy(document)
    mutated["epcisBody"]["eventList"][0]["eventTime"] = "yesterday"
    with pytest.raises(AssertionError, match="jsonschema walked"):
        official.validate(mutated)


@needs_conformance
def test_all_official_examples_were_found() -> None:
    assert len(DOCUMENTS) >= 30


@needs_conformance
@pytest.mark.parametrize(
    ("definition", "names"),
    [("bizStep", CBV_BIZ_STEPS), ("disposition", CBV_DISPOSITIONS)],
)
def test_cbv_names_match_the_official_schema(definition: str, names: tuple[str, ...]) -> None:
    path = OFFICIAL_SCHEMA / "schemas" / f"{definition}-JSON-Schema.json"
    official_names = json.loads(path.read_text("utf-8"))["definitions"][definition]["anyOf"][1]
    assert sorted(names) == sorted(official_names["enum"])


@needs_conformance
def test_a_mutated_action_fails_both_schemas(official: Validator) -> None:
    document = json.loads(DOCUMENTS[0].read_text("utf-8"))
    document["epcisBody"]["eventList"][0]["action"] = "UPDATE"
    for validator in (Validator(), official):
        assert (
            "$.epcisBody.eventList[0].action",
            "'UPDATE' is not one of ADD, DELETE, OBSERVE",
        ) in _problems(validator, document)


@needs_conformance
def test_official_schema_adds_what_ours_does_not_check(official: Validator) -> None:
    document = _document(EVENT)
    document["senderName"] = "ACME"
    Validator().validate(document)
    [(path, message)] = _problems(official, document)
    assert path == "$.senderName"
    assert "name extensions by URI or compact IRI (e.g. 'example:senderName')" in message


@needs_conformance
def test_official_problems_restating_ours_are_left_out(official: Validator) -> None:
    document = _document(dict(EVENT, epcList=["not a uri"]))
    assert _problems(official, document) == [
        ("$.epcisBody.eventList[0].epcList[0]", "'not a uri' is not a valid uri")
    ]


def test_a_directory_without_the_official_root_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text('{"$id": "https://example.com/other.json"}')
    with pytest.raises(ConfigurationError, match="EPCIS-JSON-Schema-root.json"):
        Validator(official_schema_dir=tmp_path)


def test_recursive_refs_of_an_official_schema_still_resolve(tmp_path: Path) -> None:
    node = {"type": "object", "properties": {"child": {"$ref": "#/definitions/node"}}}
    node["properties"]["n"] = {"type": "integer"}
    root = {"$id": OFFICIAL_ROOT_ID, "definitions": {"node": node}, "$ref": "#/definitions/node"}
    (tmp_path / "root.json").write_text(json.dumps(root))
    validator = Validator(official_schema_dir=tmp_path)
    problems = _problems(validator, {"child": {"child": {"n": "x"}}})
    assert ("$.child.child.n", "'x' is not of type integer") in problems


# --- Problems and their paths -----------------------------------------------------------


def test_malformed_document_lists_every_problem_by_json_path() -> None:
    bad_action = dict(EVENT, action="FOO", bizStep="yesterday")
    no_offset = {k: v for k, v in EVENT.items() if k != "eventTimeZoneOffset"}
    bad_time = dict(EVENT, eventTime="yesterday", epcList=["LOT1"], readPoint={})
    no_action = {k: v for k, v in EVENT.items() if k != "action"}
    document = _document(bad_action, no_offset, bad_time, no_action)
    document["creationDate"] = "2024-03-01"

    with pytest.raises(InvalidEpcisEvent) as caught:
        Validator().validate(document)

    assert caught.value.problems == [
        ("$.creationDate", "'2024-03-01' is not a valid date-time"),
        ("$.epcisBody.eventList[0].action", "'FOO' is not one of ADD, DELETE, OBSERVE"),
        (
            "$.epcisBody.eventList[0].bizStep",
            "'yesterday' is neither a CBV business step (e.g. 'shipping') nor a URI",
        ),
        ("$.epcisBody.eventList[1].eventTimeZoneOffset", "is required but missing"),
        ("$.epcisBody.eventList[2].epcList[0]", "'LOT1' is not a valid uri"),
        ("$.epcisBody.eventList[2].eventTime", "'yesterday' is not a valid date-time"),
        ("$.epcisBody.eventList[2].readPoint.id", "is required but missing"),
        ("$.epcisBody.eventList[3].action", "is required but missing"),
    ]
    message = str(caught.value)
    assert "8 problems" in message
    assert "$.epcisBody.eventList[2].eventTime: 'yesterday' is not a valid date-time" in message


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"type": "FooEvent"}, "$.type", "'FooEvent' is not one of AggregationEvent"),
        ({"eventTimeZoneOffset": "+15:00"}, "$.eventTimeZoneOffset", "is not a time zone offset"),
        ({"eventTimeZoneOffset": "0100"}, "$.eventTimeZoneOffset", "is not a time zone offset"),
        ({"eventTime": "2024-03-01T10:00:00"}, "$.eventTime", "is not a valid date-time"),
        ({"eventTime": "2024-02-30T10:00:00Z"}, "$.eventTime", "is not a valid date-time"),
        ({"eventTime": 1709283600}, "$.eventTime", "1709283600 is not of type string"),
        ({"eventTime": None}, "$.eventTime", "null is not of type string"),
        ({"eventID": "event 1"}, "$.eventID", "'event 1' is not a valid uri"),
        ({"disposition": "broken"}, "$.disposition", "is neither a CBV disposition"),
        ({"epcList": "urn:epc:id:sgtin:0614141.107346.2017"}, "$.epcList", "is not of type array"),
        ({"@context": 7}, "$['@context']", "7 is not a JSON-LD context"),
        ({"quantityList": [{"quantity": 2}]}, "$.quantityList[0].epcClass", "is required"),
    ],
)
def test_single_event_problems(change: dict[str, Any], path: str, message: str) -> None:
    problems = _problems(Validator(), dict(EVENT, **change))
    assert any(p == path and message in m for p, m in problems), problems


@pytest.mark.parametrize(
    "change",
    [
        {"bizStep": "https://ref.gs1.org/cbv/BizStep-inspecting"},
        {"bizStep": "urn:epcglobal:cbv:bizstep:inspecting"},
        {"bizStep": "https://example.com/steps/calibrating"},
        {"disposition": "example:quarantined"},
        {"eventTime": "2024-03-01T10:00:00Z", "eventTimeZoneOffset": "-14:00"},
        {"eventTime": "2016-12-31T23:59:60.5+14:00"},
        {"@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"},
        {"example:extension": {"anything": [1, 2]}},
    ],
)
def test_valid_variants_of_a_single_event(change: dict[str, Any]) -> None:
    Validator().validate(dict(EVENT, **change))


def test_transformation_events_need_no_action() -> None:
    event = {k: v for k, v in EVENT.items() if k not in ("action", "epcList")}
    Validator().validate(dict(event, type="TransformationEvent", inputEPCList=["urn:x:1"]))


def test_a_single_event_must_carry_its_context() -> None:
    event = {k: v for k, v in EVENT.items() if k != "@context"}
    assert _problems(Validator(), event) == [("$['@context']", "is required but missing")]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([EVENT], ("$", "the array is not of type object")),
        ({}, ("$.type", "is required but missing")),
        (
            {"type": "EPCISQueryDocument"},
            ("$.type", "'EPCISQueryDocument' is not one of AggregationEvent, AssociationEvent, "
             "EPCISDocument, ObjectEvent, TransactionEvent, TransformationEvent"),
        ),
    ],
)  # fmt: skip
def test_input_that_is_neither_document_nor_event(value: Any, problem: tuple[str, str]) -> None:
    assert _problems(Validator(), value) == [problem]


def test_document_envelope_problems() -> None:
    document = _document(EVENT)
    del document["@context"]
    document["type"] = "EPCISDocument"
    document["schemaVersion"] = "two"
    document["epcisBody"] = {"events": []}
    assert _problems(Validator(), document) == [
        ("$['@context']", "is required but missing"),
        ("$.epcisBody.eventList", "is required but missing"),
        ("$.schemaVersion", "'two' does not match ^[0-9]+(\\.[0-9]+)*$"),
    ]


def test_validation_does_not_change_its_input() -> None:
    document = _document(dict(EVENT, action="FOO"))
    before = copy.deepcopy(document)
    with pytest.raises(InvalidEpcisEvent):
        Validator().validate(document)
    assert document == before


def test_invalid_epcis_event_is_a_ledger_error() -> None:
    assert issubclass(InvalidEpcisEvent, LedgerError)


# --- Formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2005-04-03T20:33:31.116000-06:00", True),
        ("2005-07-11T11:30:47.0Z", True),
        ("2005-07-11t11:30:47z", True),
        ("2005-07-11T11:30:47", False),
        ("2005-07-11 11:30:47Z", False),
        ("2005-13-11T11:30:47Z", False),
        ("2005-07-11T24:30:47Z", False),
        ("2005-07-11T11:30:47+24:00", False),
        ("yesterday", False),
    ],
)
def test_date_time_format(value: str, valid: bool) -> None:
    assert is_date_time(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("ni:///sha-256;df7bb3c352fef055?ver=CBV2.0", True),
        ("urn:epc:id:sgtin:0614141.107346.2017", True),
        ("https://id.gs1.org/01/09506000134352/10/A%2FB", True),
        ("example:myField", True),
        ("LOT1", False),
        ("https://example.com/a b", False),
        ("https://example.com/%zz", False),
        ("1abc:def", False),
        ("", False),
    ],
)
def test_uri_format(value: str, valid: bool) -> None:
    assert is_uri(value) is valid


def test_a_document_nested_100_000_deep_is_refused_unchecked():
    extension: object = "x"
    for _ in range(100_000):
        extension = [extension]
    document = _document({**EVENT, "example:deep": extension})
    with pytest.raises(InvalidEpcisEvent) as refused:
        Validator().validate(document)
    assert refused.value.problems == [
        ("$", "it is nested deeper than 64 levels of arrays and objects")
    ]
