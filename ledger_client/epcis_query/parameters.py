"""The standard's `GET /events` query parameters read into filters (pure, no SQL).

Every parameter of the EPCIS 2.0 REST binding's `/events` (openapi.yaml) and the pattern
families of EPCIS 2.0 §8.2.7.1 it leaves open: `EQ_bizTransaction_{type}`,
`EQ_source_{type}`, `EQ_destination_{type}`, the sensor value comparisons
`GT|GE|LT|LE_{value,minValue,maxValue,meanValue,sDev,percValue}_{uom}` and extension fields
(`EQ_|GT_|GE_|LT_|LE_|EXISTS_` + optional `INNER_` + optional `ILMD_` / `ERROR_DECLARATION_`
+ the field's namespaced name). `|` separates values meaning OR. A parameter given twice,
an unknown one or a malformed value raises `InvalidQueryParameter` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ledger_client.epcis_query.extraction import (
    CLASS_FIELDS,
    ERROR_DECLARATION,
    ILMD,
    INNER,
    INSTANCE_FIELDS,
    PARENT_FIELD,
    SENSOR_NUMBERS,
    vocabulary_word,
)
from ledger_client.errors import LedgerError

Comparison = Literal["EQ", "GT", "GE", "LT", "LE"]

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1_000

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
_EVENT_COLUMNS = {
    "EQ_action": "action",
    "EQ_bizStep": "biz_step",
    "EQ_disposition": "disposition",
    "EQ_readPoint": "read_point",
    "EQ_bizLocation": "biz_location",
    # Descendants come from master data, which the ledger has none of: a location is its own.
    "WD_readPoint": "read_point",
    "WD_bizLocation": "biz_location",
    "EQ_transformationID": "transformation_id",
    "EQ_eventID": "event_id",
    "EQ_errorReason": "error_reason",
}
_VOCABULARY_PARAMETERS = frozenset({"EQ_bizStep", "EQ_disposition", "EQ_errorReason"})
_TIMES = {
    "eventTime": ("event", "event_time"),
    "recordTime": ("event", "record_time"),
    "errorDeclarationTime": ("event", "error_declaration_time"),
    "startTime": ("sensor", "start_time"),
    "endTime": ("sensor", "end_time"),
}
_MATCH_FIELDS = {
    "MATCH_epc": ("epc",),
    "MATCH_parentID": (PARENT_FIELD,),
    "MATCH_inputEPC": ("inputEPC",),
    "MATCH_outputEPC": ("outputEPC",),
    "MATCH_anyEPC": (*dict.fromkeys(INSTANCE_FIELDS.values()), PARENT_FIELD),
    "MATCH_epcClass": ("epcClass",),
    "MATCH_inputEPCClass": ("inputEPCClass",),
    "MATCH_outputEPCClass": ("outputEPCClass",),
    "MATCH_anyEPCClass": tuple(dict.fromkeys(CLASS_FIELDS.values())),
}
_SENSOR_TEXTS = {
    "EQ_type": "type",
    "EQ_deviceID": "device_id",
    "EQ_dataProcessingMethod": "data_processing_method",
    "EQ_microorganism": "microorganism",
    "EQ_chemicalSubstance": "chemical_substance",
    "EQ_bizRules": "biz_rules",
    "EQ_stringValue": "string_value",
    "EQ_hexBinaryValue": "hex_binary_value",
    "EQ_uriValue": "uri_value",
}
_TERM_EQUALS = {
    "EQ_persistentDisposition_set": "persistentDisposition_set",
    "EQ_persistentDisposition_unset": "persistentDisposition_unset",
    "EQ_correctiveEventID": "correctiveEventID",
}
_TIME_PARAMETER = re.compile(r"(GE|LT)_(" + "|".join(_TIMES) + r")")
_QUANTITY_PARAMETER = re.compile(r"(EQ|GT|GE|LT|LE)_quantity")
_TYPED_PARAMETER = re.compile(r"EQ_(bizTransaction|source|destination)_(.+)", re.DOTALL)
_SENSOR_NUMBER_PARAMETER = re.compile(
    r"(EQ|GT|GE|LT|LE)_(" + "|".join(SENSOR_NUMBERS) + r")_(.+)", re.DOTALL
)
_EXTENSION_PARAMETER = re.compile(
    rf"(EQ|GT|GE|LT|LE|EXISTS)_({INNER})?({ILMD}|{ERROR_DECLARATION})?(.+)", re.DOTALL
)
_PAGING = frozenset(
    {"orderBy", "orderDirection", "eventCountLimit", "maxEventCount", "perPage", "nextPageToken"}
)


class QueryError(LedgerError):
    """An EPCIS query that cannot be answered."""


class InvalidQueryParameter(QueryError):
    """The standard's `QueryParameterException`: `parameter` is unknown, repeated or has a
    malformed value (HTTP 400)."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"query parameter {parameter!r}: {problem}")
        self.parameter = parameter


class QueryTooLarge(QueryError):
    """The standard's `QueryTooLargeException`: more events match than `maxEventCount`
    allows (HTTP 413); narrow the query."""


@dataclass(frozen=True)
class EventEquals:
    """A single-valued event field (an `epcis_event` column) equal to one of `values`."""

    column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class TimeBound:
    """`GE_` / `LT_` on an event time or (table "sensor") a sensor report's start/end time."""

    table: Literal["event", "sensor"]
    column: str
    comparison: Literal["GE", "LT"]
    moment: datetime


@dataclass(frozen=True)
class ErrorDeclared:
    """`EXISTS_errorDeclaration=true`."""


@dataclass(frozen=True)
class TermEquals:
    """A many-valued field with a value equal to one of `values` (and, for a business
    transaction, source or destination, of type `qualifier`)."""

    field: str
    values: tuple[str, ...]
    qualifier: str | None = None


@dataclass(frozen=True)
class IdentifierMatch:
    """`MATCH_*`: an identifier in one of `fields` matching one of `patterns` (URIs in any
    GS1 form, or `urn:epc:idpat:` patterns)."""

    fields: tuple[str, ...]
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class QuantityBound:
    """`EQ_|GT_|GE_|LT_|LE_quantity`: some quantity element's quantity compared with `number`."""

    comparison: Comparison
    number: float


@dataclass(frozen=True)
class SensorEquals:
    """A sensor report attribute (an `epcis_sensor_report` column) equal to one of `values`."""

    column: str
    values: tuple[str | bool, ...]


@dataclass(frozen=True)
class SensorBound:
    """A sensor report's `column` value in unit `uom` compared with `number`."""

    column: str
    uom: str
    comparison: Comparison
    number: float


@dataclass(frozen=True)
class ExtensionFilter:
    """An extension field (`names`: the ways its expanded name may be stored) that exists
    (`comparison` None), equals one of `values`, or compares with `values[0]`."""

    names: tuple[str, ...]
    comparison: Comparison | None
    values: tuple[str, ...] = ()
    number: float | None = None
    moment: datetime | None = None


Filter = (
    EventEquals
    | TimeBound
    | ErrorDeclared
    | TermEquals
    | IdentifierMatch
    | QuantityBound
    | SensorEquals
    | SensorBound
    | ExtensionFilter
)


@dataclass(frozen=True)
class EventQuery:
    """A `GET /events` query: its filters (all must hold), order and limits."""

    filters: tuple[Filter, ...] = ()
    order_by: Literal["eventTime", "recordTime"] | None = None
    descending: bool = False
    event_count_limit: int | None = None
    max_event_count: int | None = None
    per_page: int = DEFAULT_PER_PAGE
    next_page_token: str | None = None
    # The filters and order as given, which a page token is bound to.
    signature: tuple[tuple[str, str], ...] = field(default=())


def parse_query(parameters: Iterable[tuple[str, str]]) -> EventQuery:
    """Read `GET /events` query parameters (name, value pairs, as the URL gives them).

    Raises:
        InvalidQueryParameter: a parameter given twice, unknown, or with a malformed value.
    """
    given: dict[str, str] = {}
    for name, value in parameters:
        if name in given:
            raise InvalidQueryParameter(name, "is given more than once; use | for several values")
        given[name] = value
    filters = [_filter(name, value) for name, value in given.items() if name not in _PAGING]
    order_by = given.get("orderBy")
    if order_by is not None and order_by not in ("eventTime", "recordTime"):
        raise InvalidQueryParameter(
            "orderBy", f"{order_by!r} is not eventTime or recordTime (the fields kept in order)"
        )
    direction = given.get("orderDirection", "DESC")
    if direction not in ("ASC", "DESC"):
        raise InvalidQueryParameter("orderDirection", f"{direction!r} is not ASC or DESC")
    limit = _count(given, "eventCountLimit")
    maximum = _count(given, "maxEventCount")
    if limit is not None and maximum is not None:
        raise InvalidQueryParameter("eventCountLimit", "and maxEventCount exclude each other")
    if limit is not None and order_by is None:
        raise InvalidQueryParameter("eventCountLimit", "needs orderBy to say which come first")
    per_page = _count(given, "perPage")
    return EventQuery(
        filters=tuple(f for f in filters if f is not None),
        order_by=order_by,  # type: ignore[arg-type]  # checked just above
        descending=order_by is not None and direction == "DESC",
        event_count_limit=limit,
        max_event_count=maximum,
        per_page=min(per_page or DEFAULT_PER_PAGE, MAX_PER_PAGE),
        next_page_token=given.get("nextPageToken"),
        signature=tuple(
            sorted((n, v) for n, v in given.items() if n not in ("perPage", "nextPageToken"))
        ),
    )


def _filter(name: str, value: str) -> Filter | None:
    if name == "eventType":
        return EventEquals("event_type", _values(name, value))
    if name in _EVENT_COLUMNS:
        values = _values(name, value)
        if name == "EQ_action" and not set(values) <= {"ADD", "OBSERVE", "DELETE"}:
            raise InvalidQueryParameter(name, f"{value!r}: each value is ADD, OBSERVE or DELETE")
        if name in _VOCABULARY_PARAMETERS:
            values = tuple(vocabulary_word(v) for v in values)
        return EventEquals(_EVENT_COLUMNS[name], values)
    if match := _TIME_PARAMETER.fullmatch(name):
        table, column = _TIMES[match.group(2)]
        comparison: Literal["GE", "LT"] = "GE" if match.group(1) == "GE" else "LT"
        return TimeBound(table, column, comparison, _moment(name, value))  # type: ignore[arg-type]
    if name == "EXISTS_errorDeclaration":
        return ErrorDeclared() if _boolean(name, value or "true") else None
    if name in _TERM_EQUALS:
        values = _values(name, value)
        if name != "EQ_correctiveEventID":
            values = tuple(vocabulary_word(v) for v in values)
        return TermEquals(_TERM_EQUALS[name], values)
    if match := _TYPED_PARAMETER.fullmatch(name):
        return TermEquals(match.group(1), _values(name, value), vocabulary_word(match.group(2)))
    if name in _MATCH_FIELDS:
        return IdentifierMatch(_MATCH_FIELDS[name], _values(name, value))
    if match := _QUANTITY_PARAMETER.fullmatch(name):
        return QuantityBound(match.group(1), _number(name, value))  # type: ignore[arg-type]
    if name in _SENSOR_TEXTS:
        values = _values(name, value)
        if name == "EQ_type":
            values = tuple(vocabulary_word(v) for v in values)
        return SensorEquals(_SENSOR_TEXTS[name], values)
    if name == "EQ_booleanValue":
        return SensorEquals("boolean_value", (_boolean(name, value),))
    if match := _SENSOR_NUMBER_PARAMETER.fullmatch(name):
        column = SENSOR_NUMBERS[match.group(2)]
        return SensorBound(column, match.group(3), match.group(1), _number(name, value))  # type: ignore[arg-type]
    if (match := _EXTENSION_PARAMETER.fullmatch(name)) and ":" in match.group(4):
        return _extension(name, value, match)
    raise InvalidQueryParameter(name, "is not a query parameter of GET /events")


def _extension(name: str, value: str, match: re.Match[str]) -> ExtensionFilter | None:
    operator, inner, where, field_name = match.groups()
    scope = (inner or "") + (where or "")
    names = tuple(scope + n for n in extension_names(field_name))
    if operator == "EXISTS":
        return ExtensionFilter(names, None) if _boolean(name, value or "true") else None
    if operator == "EQ":
        return ExtensionFilter(names, "EQ", _values(name, value))
    number = _optional_number(value)
    if number is not None:
        return ExtensionFilter(names, operator, (value,), number=number)  # type: ignore[arg-type]
    return ExtensionFilter(names, operator, (value,), moment=_moment(name, value))  # type: ignore[arg-type]


def extension_names(field_name: str) -> tuple[str, ...]:
    """The expanded names an extension field may be stored under: as given, and, for the
    `namespace#localName` form, the namespace IRI followed directly by the local name."""
    namespace, hash_sign, local = field_name.rpartition("#")
    if hash_sign and namespace.endswith(("/", "#")):
        return (field_name, namespace + local)
    return (field_name,)


def _values(name: str, value: str) -> tuple[str, ...]:
    values = tuple(value.split("|"))
    if any(not v for v in values):
        raise InvalidQueryParameter(name, f"{value!r} has an empty value")
    return values


def _moment(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidQueryParameter(
            name, f"{value!r} is not a date-time with an offset (e.g. 2024-05-01T12:00:00Z)"
        )
    return moment.astimezone(UTC)


def _optional_number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _number(name: str, value: str) -> float:
    number = _optional_number(value)
    if number is None or number != number or number in (float("inf"), float("-inf")):
        raise InvalidQueryParameter(name, f"{value!r} is not a number")
    return number


def _boolean(name: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise InvalidQueryParameter(name, f"{value!r} is not true or false")
    return value == "true"


def _count(given: dict[str, str], name: str) -> int | None:
    value = given.get(name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise InvalidQueryParameter(name, f"{value!r} is not a positive whole number")
    return int(value)
