"""The project's own JSON Schema (draft-07) for what the ledger relies on in EPCIS 2.0.

Deliberately smaller than GS1's official schema (which is not shipped with the
package): event types, times and offsets, actions, CBV business steps and
dispositions, identifier lists, and the EPCISDocument envelope. Extensions and
fields the ledger does not read are left to the official schema.
`x-message` is this project's keyword: the wording of the problem when the
subschema fails.
"""

from __future__ import annotations

from typing import Any

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
EVENT_TYPES_WITH_ACTION = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "AssociationEvent",
)
ACTIONS = ("ADD", "OBSERVE", "DELETE")

# CBV 2.0 §7.1 business steps and §7.2 dispositions (their short names).
CBV_BIZ_STEPS = (
    "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
    "creating_class_instance", "cycle_counting", "decommissioning", "departing",
    "destroying", "disassembling", "dispensing", "encoding", "entering_exiting",
    "holding", "inspecting", "installing", "killing", "loading", "other", "packing",
    "picking", "receiving", "removing", "repackaging", "repairing", "replacing",
    "reserving", "retail_selling", "shipping", "staging_outbound", "stock_taking",
    "stocking", "storing", "transporting", "unloading", "unpacking", "void_shipping",
    "sensor_reporting", "sampling",
)  # fmt: skip
CBV_DISPOSITIONS = (
    "active", "container_closed", "damaged", "destroyed", "dispensed", "disposed",
    "encoded", "expired", "in_progress", "in_transit", "inactive", "no_pedigree_match",
    "non_sellable_other", "partially_dispensed", "recalled", "reserved", "retail_sold",
    "returned", "sellable_accessible", "sellable_not_accessible", "stolen", "unknown",
    "available", "completeness_verified", "completeness_inferred", "conformant",
    "container_open", "mismatch_instance", "mismatch_class", "mismatch_quantity",
    "needs_replacement", "non_conformant", "unavailable",
)  # fmt: skip

_URI: dict[str, Any] = {"type": "string", "format": "uri"}
_DATE_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_URI_LIST: dict[str, Any] = {"type": "array", "items": _URI}
_QUANTITY_LIST: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["epcClass"],
        "properties": {"epcClass": _URI, "quantity": {"type": "number"}, "uom": {"type": "string"}},
    },
}
_PLACE: dict[str, Any] = {"type": "object", "required": ["id"], "properties": {"id": _URI}}
_CONTEXT: dict[str, Any] = {
    "anyOf": [
        _URI,
        {"type": "object"},
        {"type": "array", "items": {"anyOf": [_URI, {"type": "object"}]}},
    ],
    "x-message": "is not a JSON-LD context (a URI, an object, or an array of them)",
}


def _cbv(names: tuple[str, ...], what: str, example: str) -> dict[str, Any]:
    return {
        "type": "string",
        "anyOf": [{"enum": list(names)}, {"format": "uri"}],
        "x-message": f"is neither a CBV {what} (e.g. {example!r}) nor a URI",
    }


EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["type", "eventTime", "eventTimeZoneOffset"],
    "properties": {
        "@context": _CONTEXT,
        "type": {"enum": list(EVENT_TYPES)},
        "eventTime": _DATE_TIME,
        "recordTime": _DATE_TIME,
        "eventTimeZoneOffset": {
            "type": "string",
            "pattern": "^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$",
            "x-message": "is not a time zone offset ±hh:mm between -14:00 and +14:00",
        },
        "eventID": _URI,
        "action": {"enum": list(ACTIONS)},
        "bizStep": _cbv(CBV_BIZ_STEPS, "business step", "shipping"),
        "disposition": _cbv(CBV_DISPOSITIONS, "disposition", "in_transit"),
        "readPoint": _PLACE,
        "bizLocation": _PLACE,
        "parentID": _URI,
        "epcList": _URI_LIST,
        "childEPCs": _URI_LIST,
        "inputEPCList": _URI_LIST,
        "outputEPCList": _URI_LIST,
        "quantityList": _QUANTITY_LIST,
        "childQuantityList": _QUANTITY_LIST,
        "inputQuantityList": _QUANTITY_LIST,
        "outputQuantityList": _QUANTITY_LIST,
        "sensorElementList": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sensorReport"],
                "properties": {
                    "sensorReport": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "object", "required": ["type"]},
                    }
                },
            },
        },
    },
    "if": {"required": ["type"], "properties": {"type": {"enum": list(EVENT_TYPES_WITH_ACTION)}}},
    "then": {"required": ["action"]},
}

DOCUMENT: dict[str, Any] = {
    "type": "object",
    "required": ["@context", "type", "schemaVersion", "creationDate", "epcisBody"],
    "properties": {
        "@context": _CONTEXT,
        "type": {"const": "EPCISDocument"},
        "schemaVersion": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)*$"},
        "creationDate": _DATE_TIME,
        "epcisBody": {
            "type": "object",
            "required": ["eventList"],
            "properties": {"eventList": {"type": "array", "items": EVENT}},
        },
    },
}

EPCIS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": ["EPCISDocument", *EVENT_TYPES]}},
    "allOf": [
        {
            "if": {"required": ["type"], "properties": {"type": {"const": "EPCISDocument"}}},
            "then": DOCUMENT,
        },
        {
            "if": {"required": ["type"], "properties": {"type": {"enum": list(EVENT_TYPES)}}},
            # A single event must carry its own @context, as an anchored payload does.
            "then": {"allOf": [EVENT, {"required": ["@context"]}]},
        },
    ],
}
"""An EPCISDocument, or one self-describing event (with its own `@context`)."""
