"""The EPCISQueryDocument that answers `GET /events` (and `provenance events query --json`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def query_document(payloads: Iterable[str], *, created: datetime | None = None) -> dict[str, Any]:
    """An EPCISQueryDocument of the anchored event `payloads`; each event keeps the
    `@context` it was captured with unless that is the document's own."""
    events = []
    for payload in payloads:
        event = json.loads(payload)
        if event.get("@context") in (EPCIS_CONTEXT, [EPCIS_CONTEXT]):
            del event["@context"]
        events.append(event)
    return _document(events, created)


def _document(events: Any, created: datetime | None) -> dict[str, Any]:
    moment = (created or datetime.now(UTC)).astimezone(UTC)
    return {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "epcisBody": {
            "queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}
        },
    }


# Stands for the event list in the serialized document, to be replaced by the events' JSON.
_EVENTS_MARK = "\x00events\x00"


def query_document_json(payloads: Iterable[str], *, created: datetime | None = None) -> bytes:
    """`query_document` serialized (UTF-8 JSON), with each stored payload spliced in as it
    is rather than parsed and written again: the same document for a JSON reader. Only a
    payload that mentions `@context` is parsed, to drop the document's own context."""
    parts = []
    for payload in payloads:
        if '"@context"' in payload:
            event = orjson.loads(payload)
            if isinstance(event, dict) and event.get("@context") in (
                EPCIS_CONTEXT,
                [EPCIS_CONTEXT],
            ):
                del event["@context"]
            parts.append(orjson.dumps(event))
        else:
            parts.append(payload.encode())
    frame = orjson.dumps(_document(_EVENTS_MARK, created))
    before, after = frame.split(orjson.dumps(_EVENTS_MARK), 1)
    return b"".join((before, b"[", b",".join(parts), b"]", after))
