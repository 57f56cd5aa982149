"""What capturing an EPCIS 2.0 document files on the ledger, decided without I/O.

`plan_capture` validates a document, gives every event without `eventID` its CBV 2.0 event
hash id, and lists for each event its kind, its canonical self-describing payload (what is
anchored) and every lot and item it names, as canonical Digital Links: EPC URNs and Digital
Link URIs of the same lot are one batch. Objects that are no lot or item (an SSCC, a GLN, a
product class) are not batches and file nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger_client.epcis.canonical import CanonicalizationError, canonicalize
from ledger_client.epcis.document import events_of
from ledger_client.epcis.event_hash import event_hash_ids
from ledger_client.epcis.kinds import kind_of
from ledger_client.epcis.named_objects import objects_named
from ledger_client.epcis.validation import InvalidEpcisEvent, Validator
from ledger_client.errors import LedgerError
from ledger_client.identifiers import DigitalLink
from ledger_client.lifecycle import EventKind

DEFAULT_MAX_EVENTS = 1_000


class TooManyEvents(LedgerError):
    """A document carries more events than one capture takes; split it."""


@dataclass(frozen=True)
class PlannedEvent:
    """One event as it will be anchored.

    `event_id` is the event's own `eventID`, or its CBV 2.0 hash id when it had none
    (`assigned_id`); `payload` is the canonical JSON of the event with that id and its
    document's `@context`; `batches` every lot and item it names, in the order first named.
    """

    event_id: str
    assigned_id: bool
    kind: EventKind
    payload: bytes
    batches: tuple[DigitalLink, ...]


@dataclass(frozen=True)
class CapturePlan:
    events: tuple[PlannedEvent, ...]

    @property
    def batches(self) -> tuple[DigitalLink, ...]:
        """Every lot and item the document names, each once, in the order first named."""
        return tuple(dict.fromkeys(b for event in self.events for b in event.batches))


def plan_capture(
    document: Any, *, validator: Validator, max_events: int = DEFAULT_MAX_EVENTS
) -> CapturePlan:
    """The plan of capturing `document`, an EPCISDocument.

    Raises:
        InvalidEpcisEvent: the document breaks the schema, names a malformed GS1
            identifier, has no event, gives one eventID to two events, or holds a value
            with no canonical JSON form (an integer a double would round); every problem
            with its JSON path from the document's root.
        TooManyEvents: more than `max_events` events.
    """
    validator.validate(document)
    events = events_of(document)
    if not events:
        raise InvalidEpcisEvent([("$.epcisBody.eventList", "holds no event to capture")])
    if len(events) > max_events:
        raise TooManyEvents(
            f"the document holds {len(events)} events; one capture takes at most {max_events}:"
            " send it in smaller documents"
        )
    hash_ids = event_hash_ids(document) if any("eventID" not in e for e in events) else []
    planned: list[PlannedEvent] = []
    seen: dict[str, int] = {}
    for index, event in enumerate(events):
        path = f"$.epcisBody.eventList[{index}]"
        assigned = "eventID" not in event
        if assigned:
            event = {**event, "eventID": hash_ids[index]}
        event_id = event["eventID"]
        if event_id in seen:
            raise InvalidEpcisEvent(
                [(f"{path}.eventID", f"{event_id!r} is also the id of event {seen[event_id]}")]
            )
        seen[event_id] = index
        try:
            payload = canonicalize(event)
        except CanonicalizationError as exc:
            raise InvalidEpcisEvent([(path, f"has no canonical JSON form: {exc}")]) from None
        planned.append(
            PlannedEvent(
                event_id=event_id,
                assigned_id=assigned,
                kind=kind_of(event),
                payload=payload,
                batches=_batches_named(event, path),
            )
        )
    return CapturePlan(tuple(planned))


def _batches_named(event: Mapping[str, Any], path: str) -> tuple[DigitalLink, ...]:
    try:
        named = objects_named(event)
    except InvalidEpcisEvent as exc:
        raise InvalidEpcisEvent([(path + p[1:], m) for p, m in exc.problems]) from None
    links = (o.identifier.digital_link for o in named if o.identifier is not None)
    return tuple(dict.fromkeys(link for link in links if link is not None))
