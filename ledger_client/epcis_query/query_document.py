"""The EPCISQueryDocument that answers `GET /events` (and `provenance events query --json`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

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
