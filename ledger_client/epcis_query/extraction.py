"""What the EPCIS query parameters filter on, read out of one anchored event (pure, no I/O).

The indexer stores the result in the read model's query tables when it stores the event, so
a query is SQL over indexed columns and never parses a payload. Three shapes:
`EventFields` (one per event: times, action, bizStep, locations, …), `Term`s (the many-valued
fields: identifiers, business transactions, sources, destinations, persistent dispositions,
corrective event ids, extension fields) and `SensorValues` (one per sensorReport).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ledger_client.epcis.hash_vocabulary import document_prefixes
from ledger_client.epcis.identifiers import InvalidIdentifier, NotGs1Identifier, parse_identifier

# Longest text kept in an indexed column: PostgreSQL's btree refuses entries over ~2,700
# bytes, and a value no query names whole is still found by EXISTS_.
MAX_INDEXED_TEXT = 1_000

# The event field each identifier role is matched by (`MATCH_<role>`).
INSTANCE_FIELDS = {
    "epcList": "epc",
    "childEPCs": "epc",
    "inputEPCList": "inputEPC",
    "outputEPCList": "outputEPC",
}
CLASS_FIELDS = {
    "quantityList": "epcClass",
    "childQuantityList": "epcClass",
    "inputQuantityList": "inputEPCClass",
    "outputQuantityList": "outputEPCClass",
}
PARENT_FIELD = "parentID"

# Where an extension field sits, as the query names it (`EQ_ILMD_<name>`, `EQ_INNER_<name>`, …).
TOP, ILMD, ERROR_DECLARATION = "", "ILMD_", "ERROR_DECLARATION_"
INNER = "INNER_"

_STANDARD_FIELDS = frozenset(
    {
        "@context",
        "type",
        "eventID",
        "eventTime",
        "eventTimeZoneOffset",
        "recordTime",
        "certificationInfo",
        "errorDeclaration",
        "action",
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "ilmd",
        "parentID",
        "transformationID",
        *INSTANCE_FIELDS,
        *CLASS_FIELDS,
    }
)
# A CBV or GS1 vocabulary value written as its Web URI; queries use the bare word.
_VOCABULARY_URI = re.compile(
    r"(?:https?://ref\.gs1\.org/cbv/|https?://gs1\.org/voc/|cbv:|gs1:)(?:[A-Za-z]+-)?(.+)",
    re.DOTALL,
)
_SENSOR_TEXT_FIELDS = {
    "deviceID": "device_id",
    "dataProcessingMethod": "data_processing_method",
    "microorganism": "microorganism",
    "chemicalSubstance": "chemical_substance",
    "bizRules": "biz_rules",
    "stringValue": "string_value",
    "hexBinaryValue": "hex_binary_value",
    "uriValue": "uri_value",
}
SENSOR_NUMBERS = {
    "value": "value",
    "minValue": "min_value",
    "maxValue": "max_value",
    "meanValue": "mean_value",
    "sDev": "s_dev",
    "percValue": "perc_value",
}


@dataclass(frozen=True)
class Term:
    """One value of a many-valued field.

    `field` is the query's name for it (`epc`, `epcClass`, `bizTransaction`, `source`,
    `persistentDisposition_set`, `correctiveEventID`, or an extension field's scope and
    expanded IRI); `qualifier` the type of a business transaction / source / destination;
    `text` the value as written, `canonical` the identifier's Digital Link (or the vocabulary
    word), `number` a quantity or numeric value, `uom` its unit, `time` a date-time value.
    """

    field: str
    text: str | None
    canonical: str | None = None
    qualifier: str | None = None
    number: float | None = None
    uom: str | None = None
    time: datetime | None = None


@dataclass(frozen=True)
class EventFields:
    """The single-valued fields of one event; times in UTC."""

    event_type: str
    event_time: datetime
    event_time_zone_offset: str | None
    record_time: datetime | None
    event_id: str | None
    action: str | None
    biz_step: str | None
    disposition: str | None
    read_point: str | None
    biz_location: str | None
    transformation_id: str | None
    error_declared: bool
    error_declaration_time: datetime | None
    error_reason: str | None


@dataclass(frozen=True)
class EventIndex:
    """Everything a query can select `event` by."""

    fields: EventFields
    terms: list[Term] = field(default_factory=list)
    sensor_reports: list[dict[str, Any]] = field(default_factory=list)


def vocabulary_word(value: str) -> str:
    """The bare CBV / GS1 word of a vocabulary value in Web URI form, else the value as
    written (legacy `urn:epcglobal:cbv:…` values are compared as written)."""
    match = _VOCABULARY_URI.fullmatch(value)
    return match.group(1) if match else value


@lru_cache(maxsize=65_536)
def identifier_forms(text: str) -> tuple[str, str]:
    """(canonical, as written): the canonical Digital Link of a GS1 identifier (so its URN and
    its Digital Link match each other), any other or malformed URI as written. Cached: the
    events of a lot name the same few identifiers over and over."""
    try:
        return parse_identifier(text).uri, text
    except (NotGs1Identifier, InvalidIdentifier):
        return text, text


def utc_time(value: object) -> datetime | None:
    """An ISO 8601 date-time in UTC (a time without an offset is taken as UTC), else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def index_event(event: Mapping[str, Any]) -> EventIndex | None:
    """What the query parameters select `event` (an EPCIS 2.0 JSON event as anchored) by;
    None for a payload that is not an event (no `type` or no readable `eventTime`).

    Never raises on a misshapen field: what cannot be read is left out.
    """
    event_type = _text(event.get("type"))
    event_time = utc_time(event.get("eventTime"))
    if event_type is None or event_time is None:
        return None
    error = event.get("errorDeclaration")
    error = error if isinstance(error, Mapping) else None
    fields = EventFields(
        event_type=event_type,
        event_time=event_time,
        event_time_zone_offset=_text(event.get("eventTimeZoneOffset")),
        record_time=utc_time(event.get("recordTime")),
        event_id=_text(event.get("eventID")),
        action=_text(event.get("action")),
        biz_step=_word(event.get("bizStep")),
        disposition=_word(event.get("disposition")),
        read_point=_location(event.get("readPoint")),
        biz_location=_location(event.get("bizLocation")),
        transformation_id=_text(event.get("transformationID")),
        error_declared=error is not None,
        error_declaration_time=utc_time(error.get("declarationTime")) if error else None,
        error_reason=_word(error.get("reason")) if error else None,
    )
    prefixes = document_prefixes(event.get("@context"))
    terms = [
        *_identifier_terms(event),
        *_typed_terms(event),
        *_disposition_terms(event.get("persistentDisposition")),
        *_extension_terms(event, TOP, prefixes),
    ]
    if isinstance(event.get("ilmd"), Mapping):
        terms += _extension_terms(event["ilmd"], ILMD, prefixes)
    if error is not None:
        terms += [
            Term("correctiveEventID", text)
            for text in _texts(error.get("correctiveEventIDs"))
            if _indexable(text)
        ]
        terms += _extension_terms(error, ERROR_DECLARATION, prefixes)
    return EventIndex(fields, terms, list(_sensor_reports(event.get("sensorElementList"))))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and _indexable(value) else None


def _indexable(text: str) -> bool:
    return len(text) <= MAX_INDEXED_TEXT


def _texts(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _word(value: object) -> str | None:
    text = _text(value)
    return vocabulary_word(text) if text is not None else None


def _location(value: object) -> str | None:
    return _text(value.get("id")) if isinstance(value, Mapping) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _identifier_terms(event: Mapping[str, Any]) -> Iterator[Term]:
    parent = event.get("parentID")
    if isinstance(parent, str) and _indexable(parent):
        yield Term(PARENT_FIELD, parent, identifier_forms(parent)[0])
    for name, query_field in INSTANCE_FIELDS.items():
        for text in _texts(event.get(name)):
            if _indexable(text):
                yield Term(query_field, text, identifier_forms(text)[0])
    for name, query_field in CLASS_FIELDS.items():
        elements = event.get(name)
        for element in elements if isinstance(elements, list) else []:
            epc_class = element.get("epcClass") if isinstance(element, Mapping) else None
            if isinstance(epc_class, str) and _indexable(epc_class):
                uom = element.get("uom")
                yield Term(
                    query_field,
                    epc_class,
                    identifier_forms(epc_class)[0],
                    number=_number(element.get("quantity")),
                    uom=uom if isinstance(uom, str) else None,
                )


def _typed_terms(event: Mapping[str, Any]) -> Iterator[Term]:
    """Business transactions, sources and destinations, each with its type."""
    for list_name, key in (
        ("bizTransactionList", "bizTransaction"),
        ("sourceList", "source"),
        ("destinationList", "destination"),
    ):
        elements = event.get(list_name)
        for element in elements if isinstance(elements, list) else []:
            if not isinstance(element, Mapping):
                continue
            value = _text(element.get(key))
            if value is not None:
                yield Term(key, value, qualifier=_word(element.get("type")))


def _disposition_terms(value: object) -> Iterator[Term]:
    if not isinstance(value, Mapping):
        return
    for which in ("set", "unset"):
        for text in _texts(value.get(which)):
            if _indexable(text):
                yield Term(f"persistentDisposition_{which}", text, vocabulary_word(text))


def _extension_terms(
    element: Mapping[str, Any], scope: str, prefixes: Mapping[str, str]
) -> list[Term]:
    """Every extension field of `element` (keys with a namespace) and, under `INNER_`, the
    fields nested in them."""
    terms: list[Term] = []
    for key, value in element.items():
        if isinstance(key, str) and key not in _STANDARD_FIELDS and ":" in key:
            _extension_values(extension_name(key, prefixes), value, scope, prefixes, terms)
    return terms


def extension_name(key: str, prefixes: Mapping[str, str]) -> str:
    """A `prefix:local` key expanded with the event's `@context` prefixes; else as written."""
    prefix, _, local = key.partition(":")
    namespace = prefixes.get(prefix)
    return namespace + local if namespace and not local.startswith("//") else key


def _extension_values(
    name: str, value: Any, scope: str, prefixes: Mapping[str, str], terms: list[Term]
) -> None:
    inner = scope if scope.startswith(INNER) else INNER + scope
    if isinstance(value, list):
        for item in value:
            _extension_values(name, item, scope, prefixes, terms)
    elif isinstance(value, Mapping):
        terms.append(Term(scope + name, None))
        for key, nested in value.items():
            if isinstance(key, str) and ":" in key and not key.startswith("@"):
                _extension_values(extension_name(key, prefixes), nested, inner, prefixes, terms)
    elif isinstance(value, bool):
        terms.append(Term(scope + name, "true" if value else "false"))
    elif isinstance(value, str | int | float):
        text = str(value)
        terms.append(
            Term(
                scope + name,
                text if _indexable(text) else None,
                number=_number(value),
                time=utc_time(value) if isinstance(value, str) and "T" in value else None,
            )
        )


def _sensor_reports(value: object) -> Iterator[dict[str, Any]]:
    """One row per sensorReport, its sensorMetadata's device, times and rules filled in."""
    for element in value if isinstance(value, list) else []:
        if not isinstance(element, Mapping):
            continue
        metadata = element.get("sensorMetadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        reports = element.get("sensorReport")
        reports = (
            [r for r in reports if isinstance(r, Mapping)] if isinstance(reports, list) else []
        )
        for report in reports or [{}]:
            row: dict[str, Any] = {
                "type": _word(report.get("type")),
                "uom": _text(report.get("uom")),
                "time": utc_time(report.get("time", metadata.get("time"))),
                "start_time": utc_time(metadata.get("startTime")),
                "end_time": utc_time(metadata.get("endTime")),
                "boolean_value": report.get("booleanValue")
                if isinstance(report.get("booleanValue"), bool)
                else None,
            }
            for name, column in _SENSOR_TEXT_FIELDS.items():
                row[column] = _text(report.get(name, metadata.get(name)))
            for name, column in SENSOR_NUMBERS.items():
                row[column] = _number(report.get(name))
            yield row
