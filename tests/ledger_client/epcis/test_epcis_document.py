"""EPCISDocument ↔ anchorable events: the round trip through the ledger is canonical-equal."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.epcis.canonical import canonicalize, event_payload
from ledger_client.epcis.document import document_from_events, events_of
from ledger_client.epcis.validation import InvalidEpcisEvent
from tests.factories import SHARED

pytestmark = pytest.mark.unit

EPCIS = SHARED / "conformance" / "epcis"
EXAMPLES = sorted((EPCIS / "examples").rglob("*.jsonld"))
DOCUMENTS = [p for p in EXAMPLES if json.loads(p.read_text("utf-8"))["type"] == "EPCISDocument"]
needs_conformance = pytest.mark.skipif(
    not EPCIS.is_dir(), reason=f"GS1 EPCIS conformance data not found at {EPCIS}"
)

CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"example": "http://ns.example.com/epcis/"},
]


def _document(events: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T10:00:00Z",
        **header,
        "epcisBody": {"eventList": events},
    }


def _example_id(path: Path) -> str:
    return path.relative_to(EPCIS / "examples").as_posix()


@needs_conformance
@pytest.mark.parametrize("path", DOCUMENTS, ids=_example_id)
def test_official_examples_survive_the_round_trip(path: Path) -> None:
    document = json.loads(path.read_text("utf-8"))
    before = copy.deepcopy(document)

    events = events_of(document)
    payloads = [canonicalize(event) for event in events]
    # What the ledger serves back is the anchored payloads, parsed.
    rebuilt = document_from_events([json.loads(p) for p in payloads], template=document)

    assert canonicalize(rebuilt) == canonicalize(document)
    assert document == before
    assert all(event["@context"] == document["@context"] for event in events)
    assert payloads == [
        event_payload(e, context=document["@context"]) for e in document["epcisBody"]["eventList"]
    ]


def test_events_of_attaches_the_document_context_only_where_missing() -> None:
    own = {"@context": "https://example.com/ctx", "type": "ObjectEvent"}
    plain = {"type": "AggregationEvent"}
    assert events_of(_document([plain, own])) == [{"@context": CONTEXT, **plain}, own]


def test_events_of_an_empty_document_is_empty() -> None:
    assert events_of(_document([])) == []


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"type": "EPCISQueryDocument"}, "$.type"),
        ([], "$.type"),
        ({k: v for k, v in _document([]).items() if k != "@context"}, "$['@context']"),
        (dict(_document([]), epcisBody={}), "$.epcisBody.eventList"),
        (dict(_document([]), epcisBody={"eventList": {}}), "$.epcisBody.eventList"),
        (_document([{"type": "ObjectEvent"}, "ObjectEvent"]), "$.epcisBody.eventList[1]"),
    ],
)
def test_events_of_refuses_what_is_not_an_epcis_document(document: Any, path: str) -> None:
    with pytest.raises(InvalidEpcisEvent) as caught:
        events_of(document)
    assert caught.value.problems[0][0] == path


def test_document_from_events_takes_the_header_from_the_template() -> None:
    template = _document([{"type": "old"}], sender="urn:epc:id:sgln:0353579.00001.0")
    template["epcisHeader"] = {"epcisMasterData": {"vocabularyList": []}}
    rebuilt = document_from_events([{"@context": CONTEXT, "type": "new"}], template=template)
    assert rebuilt == {**template, "epcisBody": {"eventList": [{"type": "new"}]}}
    assert template["epcisBody"]["eventList"] == [{"type": "old"}]


def test_an_event_with_a_different_context_keeps_it() -> None:
    event = {"@context": ["https://example.com/other"], "type": "ObjectEvent"}
    assert document_from_events([event], template=_document([]))["epcisBody"]["eventList"] == [
        event
    ]


def test_an_event_repeating_the_document_context_comes_back_without_it() -> None:
    # Same JSON-LD either way; the anchored payload cannot tell who wrote the @context.
    document = _document([{"@context": CONTEXT, "type": "ObjectEvent"}])
    rebuilt = document_from_events(events_of(document), template=document)
    assert rebuilt["epcisBody"]["eventList"] == [{"type": "ObjectEvent"}]


json_leaves = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
json_values = st.recursive(
    json_leaves | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=12,
)
events = st.dictionaries(st.text().filter(lambda k: k != "@context"), json_values, max_size=5)
own_contexts = st.none() | st.sampled_from(["https://example.com/ctx", [{"ex": "urn:x:"}]])


@given(st.lists(st.tuples(events, own_contexts), max_size=5))
def test_round_trip_is_canonical_equal_for_any_events(
    specs: list[tuple[dict[str, Any], Any]],
) -> None:
    event_list = [event if ctx is None else {"@context": ctx, **event} for event, ctx in specs]
    document = _document(event_list, sender="urn:example:sender")
    anchored = [json.loads(canonicalize(event)) for event in events_of(document)]
    rebuilt = document_from_events(anchored, template=document)
    assert canonicalize(rebuilt) == canonicalize(document)
