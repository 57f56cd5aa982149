"""An EPCISDocument split into anchorable events, and rebuilt from them.

Each event is anchored alone, so it carries the document's `@context` (see
`canonical.self_describing`). Rebuilding drops that `@context` again where it equals
the document's, so `document_from_events(events_of(doc), template=doc)` canonicalises
to the same bytes as `doc`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ledger_client.epcis.canonical import self_describing
from ledger_client.epcis.validation import InvalidEpcisEvent


def events_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of an EPCISDocument, in order, each with the document's `@context`
    attached unless it has its own (new dicts; the document is not changed).

    Raises:
        InvalidEpcisEvent: `document` is not an EPCISDocument with `@context` and
            `epcisBody.eventList` (validate it first for the full list of problems).
    """
    if not isinstance(document, Mapping) or document.get("type") != "EPCISDocument":
        raise InvalidEpcisEvent([("$.type", "is not 'EPCISDocument'")])
    if "@context" not in document:
        raise InvalidEpcisEvent([("$['@context']", "is required but missing")])
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, Mapping) else None
    if not isinstance(events, list):
        raise InvalidEpcisEvent([("$.epcisBody.eventList", "is required and must be an array")])
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            raise InvalidEpcisEvent([(f"$.epcisBody.eventList[{index}]", "is not an object")])
    context = document["@context"]
    return [self_describing(event, context=context) for event in events]


def document_from_events(
    events: Iterable[Mapping[str, Any]], *, template: Mapping[str, Any]
) -> dict[str, Any]:
    """An EPCISDocument with `template`'s header fields and `events` as its eventList.

    `template` is an EPCISDocument (its own eventList is ignored). An event whose
    `@context` equals the template's loses it, as it was attached by `events_of`; so an
    event that repeated the document's `@context` itself comes back without it, which
    is the same JSON-LD.
    """
    context = template.get("@context")
    event_list = [
        {key: value for key, value in event.items() if key != "@context"}
        if event.get("@context") == context
        else dict(event)
        for event in events
    ]
    body = template.get("epcisBody")
    body = dict(body) if isinstance(body, Mapping) else {}
    body["eventList"] = event_list
    return {**template, "epcisBody": body}
