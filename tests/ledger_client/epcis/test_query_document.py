"""The query document served as bytes, the stored payloads spliced in unparsed, is the same
JSON document as the one built from parsed events: the document's own `@context` dropped
from an event that carries it, any other kept, non-ASCII text intact."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ledger_client.epcis_query.query_document import (
    EPCIS_CONTEXT,
    query_document,
    query_document_json,
)

CREATED = datetime(2026, 12, 1, 10, 30, 0, 123456, tzinfo=UTC)


def _event(n: int, **extra) -> str:
    event = {"type": "ObjectEvent", "eventID": f"urn:uuid:{n}", "action": "OBSERVE", **extra}
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


PAYLOADS = {
    "none": [],
    "plain": [_event(1), _event(2)],
    "own context as text": [_event(1, **{"@context": EPCIS_CONTEXT})],
    "own context as list": [_event(1, **{"@context": [EPCIS_CONTEXT]})],
    "another context": [_event(1, **{"@context": ["https://example.org/ctx"]})],
    "a value mentioning @context": [_event(1, note='see "@context"')],
    "non-ASCII and escapes": [_event(1, note='Grüße \u2603 "q" \\ \n')],
    "spaced as written": ['{ "type" : "ObjectEvent",\n  "eventID": "urn:uuid:9" }'],
    "own context leading, canonical": [
        '{"@context":"' + EPCIS_CONTEXT + '","action":"OBSERVE","type":"ObjectEvent"}',
        '{"@context":["' + EPCIS_CONTEXT + '"],"action":"OBSERVE","type":"ObjectEvent"}',
    ],
    "another context leading, canonical": [
        '{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"a":1}',
        '{"@context":["' + EPCIS_CONTEXT + '",{"ex":"https://ex.org/"}],"a":1}',
        '{"@context":["' + EPCIS_CONTEXT + '","https://ex.org/c"],"a":1}',
        '{"@context":"https://ex.org/\\"q\\"","a":1}',
    ],
    "own context leading, and a nested one": [
        '{"@context":"' + EPCIS_CONTEXT + '","ext":{"@context":"x"},"type":"ObjectEvent"}'
    ],
    "own context alone": ['{"@context":"' + EPCIS_CONTEXT + '"}'],
    "own context escaped": ['{"@context":"' + EPCIS_CONTEXT.replace("/", "\\/") + '","a":1}'],
}


@pytest.mark.parametrize("payloads", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_the_served_bytes_are_the_built_document(payloads):
    served = json.loads(query_document_json(payloads, created=CREATED))
    assert served == query_document(payloads, created=CREATED)


def test_the_document_frame_and_events_in_order():
    served = json.loads(query_document_json([_event(2), _event(1)], created=CREATED))
    assert served["creationDate"] == "2026-12-01T10:30:00.123Z"
    assert served["@context"] == EPCIS_CONTEXT
    results = served["epcisBody"]["queryResults"]
    assert results["queryName"] == "SimpleEventQuery"
    assert [e["eventID"] for e in results["resultsBody"]["eventList"]] == [
        "urn:uuid:2",
        "urn:uuid:1",
    ]
    assert "@context" not in results["resultsBody"]["eventList"][0]
