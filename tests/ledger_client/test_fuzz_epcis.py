"""Fuzz the EPCIS validator and canonical form with hostile documents, parsed and unparsed:
`InvalidEpcisEvent` / `CanonicalizationError` / `InvalidJson` or a result, nothing else."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.epcis.canonical import CanonicalizationError, canonicalize, event_payload
from ledger_client.epcis.document import events_of
from ledger_client.epcis.validation import InvalidEpcisEvent, Validator
from ledger_client.identifiers import DigitalLink
from ledger_client.json_input import InvalidJson, loads
from tests.hostile_json import fuzz, hostile_texts, hostile_values

pytestmark = pytest.mark.unit

LOT = DigitalLink.lot("09506000134352", "LOT-1")
# A valid document of one commissioning event, each of whose fields the fuzz replaces in turn.
DOCUMENT = {
    "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2026-11-02T08:00:00Z",
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "eventTime": "2026-11-02T08:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "action": "ADD",
                "bizStep": "commissioning",
                "disposition": "active",
                "quantityList": [{"epcClass": LOT.uri, "quantity": 1200, "uom": "EA"}],
                "readPoint": {"id": "https://id.gs1.org/414/9506000000001"},
            }
        ]
    },
}


@cache
def validator() -> Validator:
    return Validator()


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A hostile value on its own, or put in place of one field of a valid document."""
    hostile = draw(hostile_values())
    if draw(st.booleans()):
        return hostile
    event = dict(DOCUMENT["epcisBody"]["eventList"][0])
    event[draw(st.sampled_from([*event, "example:extension"]))] = hostile
    return {**DOCUMENT, "epcisBody": {"eventList": [event]}}


def _check(value: Any) -> None:
    try:
        validator().validate(value)
    except InvalidEpcisEvent as exc:
        assert exc.problems and all(path.startswith("$") for path, _ in exc.problems)
    try:
        assert isinstance(canonicalize(value), bytes)
    except CanonicalizationError as exc:
        assert str(exc)
    try:
        events = events_of(value)
    except InvalidEpcisEvent:
        return
    for event in events:
        try:
            event_payload(event, context=value["@context"])
        except CanonicalizationError:
            pass


@fuzz
@given(documents())
def test_parsed_documents_are_validated_and_canonicalised_or_refused(value: Any):
    _check(value)


@fuzz
@given(hostile_texts())
def test_document_text_is_read_validated_and_canonicalised_or_refused(data: bytes):
    try:
        value = loads(data)
    except InvalidJson:
        return
    _check(value)
