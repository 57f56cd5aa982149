"""A genealogy made only of EPCIS transformation and aggregation events, with the graph a
trace of it must give, worked out by hand.

    LOT-A ─┐ T1 (no id)                ┌─▶ LOT-D
           ├──────────▶ LOT-C ── T2 ───┼─▶ SN-1 ─┐ aggregation ADD
    LOT-B ─┘                (2 events) └─▶ SN-2 ─┴──────────────▶ PALLET ──shipped to──▶ CARRIER

T2 is one transformation recorded as two events sharing a transformationID: the first names
its input, the second its outputs. A DELETE aggregation of SN-1 out of OTHER-PALLET makes no
edge. Identifiers are written as EPC URNs in some events and Digital Links in others.
"""

from __future__ import annotations

import json
from typing import Any

from ledger_client.indexer.genealogy import node_of

GTIN = "09506000134352"
URN_CLASS = "urn:epc:class:lgtin:9506000.013435."
URN_ITEM = "urn:epc:id:sgtin:9506000.013435."


def lot(name: str) -> str:
    return f"https://id.gs1.org/01/{GTIN}/10/{name}"


def item(serial: str) -> str:
    return f"https://id.gs1.org/01/{GTIN}/21/{serial}"


PALLET = "https://id.gs1.org/00/095060000000000015"
PALLET_URN = "urn:epc:id:sscc:9506000.0000000001"
OTHER_PALLET = "urn:epc:id:sscc:9506000.0000000002"
CARRIER = "urn:epc:id:pgln:9506000.00001.0"
A, B, C, D = lot("LOT-A"), lot("LOT-B"), lot("LOT-C"), lot("LOT-D")
SN1, SN2 = item("SN-1"), item("SN-2")


def payload(event: dict[str, Any], minute: int) -> bytes:
    event = {
        "eventTime": f"2026-11-21T10:{minute:02d}:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        **event,
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def quantity(epc_class: str, amount: float) -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": amount, "uom": "KGM"}


EPCIS_ONLY_EVENTS = [
    payload(
        {
            "type": "TransformationEvent",
            "bizStep": "commissioning",
            "inputQuantityList": [quantity(URN_CLASS + "LOT-A", 10), quantity(B, 5)],
            "outputQuantityList": [quantity(C, 15)],
        },
        0,
    ),
    payload(
        {
            "type": "TransformationEvent",
            "transformationID": "urn:uuid:6d5c2c1e-0000-4000-8000-000000000002",
            "inputQuantityList": [quantity(URN_CLASS + "LOT-C", 15)],
        },
        1,
    ),
    payload(
        {
            "type": "TransformationEvent",
            "transformationID": "urn:uuid:6d5c2c1e-0000-4000-8000-000000000002",
            "outputQuantityList": [quantity(D, 13)],
            "outputEPCList": [URN_ITEM + "SN-1", SN2],
        },
        2,
    ),
    payload(
        {
            "type": "AggregationEvent",
            "action": "ADD",
            "bizStep": "packing",
            "parentID": PALLET_URN,
            "childEPCs": [URN_ITEM + "SN-1", SN2],
        },
        3,
    ),
    payload(
        {
            "type": "AggregationEvent",
            "action": "DELETE",
            "bizStep": "unpacking",
            "parentID": OTHER_PALLET,
            "childEPCs": [SN1],
        },
        4,
    ),
    payload(
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "epcList": [PALLET],
            "destinationList": [
                {"type": "owning_party", "destination": "urn:epc:id:pgln:9506000.00002.0"},
                {"type": "possessing_party", "destination": CARRIER},
            ],
        },
        5,
    ),
]


def node(uri: str) -> str:
    return node_of(uri).id


# (source, target, relation, transformation id or None) of every edge, by hand.
T2 = "urn:uuid:6d5c2c1e-0000-4000-8000-000000000002"
EDGES = {
    (A, C): ("transformation", None),
    (B, C): ("transformation", None),
    (C, D): ("transformation", T2),
    (C, SN1): ("transformation", T2),
    (C, SN2): ("transformation", T2),
    (SN1, PALLET): ("aggregation", None),
    (SN2, PALLET): ("aggregation", None),
}
