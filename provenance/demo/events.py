"""EPCIS 2.0 documents of the demo's story: a vaccine lot from commissioning to delivery."""

from __future__ import annotations

from typing import Any

from ledger_client.identifiers import DigitalLink

EPCIS_CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"]
SITE = "https://id.gs1.org/414/9506000000001"  # the plant's GLN
WAREHOUSE = "https://id.gs1.org/414/9506000000018"


def _event(event_type: str, time: str, biz_step: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "eventTime": time,
        "eventTimeZoneOffset": "+00:00",
        "bizStep": biz_step,
        **fields,
    }


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": events[0]["eventTime"],
        "epcisBody": {"eventList": list(events)},
    }


def lot_lifecycle(lot: DigitalLink) -> dict[str, Any]:
    """Commissioning, packing and shipping of a lot, as one EPCIS document."""
    quantity = [{"epcClass": lot.uri, "quantity": 1200, "uom": "EA"}]
    return document(
        _event(
            "ObjectEvent",
            "2026-11-02T08:00:00Z",
            "commissioning",
            action="ADD",
            quantityList=quantity,
            disposition="active",
            readPoint={"id": SITE},
        ),
        _event(
            "ObjectEvent",
            "2026-11-02T12:30:00Z",
            "packing",
            action="OBSERVE",
            quantityList=quantity,
            disposition="in_progress",
            readPoint={"id": SITE},
        ),
        _event(
            "ObjectEvent",
            "2026-11-03T06:10:00Z",
            "shipping",
            action="OBSERVE",
            quantityList=quantity,
            disposition="in_transit",
            readPoint={"id": SITE},
            destinationList=[{"type": "location", "destination": WAREHOUSE}],
        ),
    )


def transformation(source: DigitalLink, derived: DigitalLink) -> dict[str, Any]:
    """The bulk lot filled into vials: a TransformationEvent from `source` to `derived`."""
    return document(
        _event(
            "TransformationEvent",
            "2026-11-04T09:00:00Z",
            "commissioning",
            inputQuantityList=[{"epcClass": source.uri, "quantity": 1200, "uom": "EA"}],
            outputQuantityList=[{"epcClass": derived.uri, "quantity": 6000, "uom": "EA"}],
            readPoint={"id": WAREHOUSE},
        ),
    )


def inspection(lot: DigitalLink) -> dict[str, Any]:
    return document(
        _event(
            "ObjectEvent",
            "2026-11-05T10:00:00Z",
            "inspecting",
            action="OBSERVE",
            quantityList=[{"epcClass": lot.uri, "quantity": 12, "uom": "EA"}],
            readPoint={"id": WAREHOUSE},
        ),
    )
