"""The EPCIS 2.0 documents of the demo's story, as the manufacturer's ERP would send them to
`POST /api/v1/capture`: two lots commissioned, packed onto a pallet, shipped, lot A received
and transformed into a lot of vials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ledger_client.identifiers import DigitalLink, gtin_check_digit

EPCIS_CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"]
PLANT = "https://id.gs1.org/414/9506000000001"  # the manufacturer's plant (GLN)
DEPOT = "https://id.gs1.org/414/9506000000018"  # the logistics company's cold store
DOSES_PER_LOT = 1200


def pallet_sscc(run: int) -> str:
    """The Digital Link of the run's pallet: an SSCC under the manufacturer's prefix."""
    body = f"09506000{run:09d}"
    return f"https://id.gs1.org/00/{body}{gtin_check_digit(body)}"


def _event(event_type: str, at: datetime, biz_step: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "eventTime": at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": biz_step,
        **fields,
    }


def _document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "epcisBody": {"eventList": list(events)},
    }


def _quantity(lot: DigitalLink, quantity: int = DOSES_PER_LOT) -> dict[str, Any]:
    return {"epcClass": lot.uri, "quantity": quantity, "uom": "EA"}


def commissioning(lots: list[DigitalLink], at: datetime) -> dict[str, Any]:
    """The lots come off the filling line: one ObjectEvent ADD each."""
    return _document(
        *(
            _event(
                "ObjectEvent",
                at,
                "commissioning",
                action="ADD",
                quantityList=[_quantity(lot)],
                disposition="active",
                readPoint={"id": PLANT},
            )
            for lot in lots
        )
    )


def packing_and_shipping(lots: list[DigitalLink], pallet: str, at: datetime) -> dict[str, Any]:
    """The lots packed onto one pallet (an AggregationEvent) and the pallet shipped to the
    logistics company's depot."""
    return _document(
        _event(
            "AggregationEvent",
            at,
            "packing",
            action="ADD",
            parentID=pallet,
            childQuantityList=[_quantity(lot) for lot in lots],
            disposition="in_progress",
            readPoint={"id": PLANT},
        ),
        _event(
            "ObjectEvent",
            at + timedelta(minutes=30),
            "shipping",
            action="OBSERVE",
            epcList=[pallet],
            quantityList=[_quantity(lot) for lot in lots],
            disposition="in_transit",
            readPoint={"id": PLANT},
            destinationList=[{"type": "location", "destination": DEPOT}],
        ),
    )


def receiving(lot: DigitalLink, at: datetime) -> dict[str, Any]:
    """The lot received at the depot."""
    return _document(
        _event(
            "ObjectEvent",
            at,
            "receiving",
            action="OBSERVE",
            quantityList=[_quantity(lot)],
            disposition="in_progress",
            readPoint={"id": DEPOT},
        )
    )


def transformation(source: DigitalLink, vials: DigitalLink, at: datetime) -> dict[str, Any]:
    """The bulk lot filled into single-dose vials: a TransformationEvent, source → vials."""
    return _document(
        _event(
            "TransformationEvent",
            at,
            "commissioning",
            inputQuantityList=[_quantity(source)],
            outputQuantityList=[_quantity(vials, DOSES_PER_LOT)],
            readPoint={"id": DEPOT},
        )
    )
