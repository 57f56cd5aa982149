"""The ledger's `EventKind` of an EPCIS event, from its CBV business step.

The kind decides what an event may do to a quarantined or recalled batch
(IProvenanceLedger.EventKind): only inspections and destructions are accepted there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger_client.lifecycle import EventKind

__all__ = ["EventKind", "biz_step_name", "kind_of", "kind_of_biz_step"]


# CBV 2.0 bizStep URIs; EPCIS 1.x documents still carry the URN form.
_BIZ_STEP_PREFIXES = ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:")

_KIND_OF_BIZ_STEP = {
    "inspecting": EventKind.INSPECTION,
    "sampling": EventKind.INSPECTION,
    "destroying": EventKind.DESTRUCTION,
}


def biz_step_name(biz_step: str) -> str:
    """The CBV short name of a bizStep given as short name or CBV URI / URN.

    Other URIs (a company's own vocabulary) are returned unchanged.
    """
    for prefix in _BIZ_STEP_PREFIXES:
        if biz_step.startswith(prefix):
            return biz_step[len(prefix) :]
    return biz_step


def kind_of_biz_step(biz_step: str | None) -> EventKind:
    """INSPECTION for inspecting and sampling, DESTRUCTION for destroying, else OTHER."""
    if not isinstance(biz_step, str):
        return EventKind.OTHER
    return _KIND_OF_BIZ_STEP.get(biz_step_name(biz_step), EventKind.OTHER)


def kind_of(event: Mapping[str, Any]) -> EventKind:
    """The `EventKind` of an EPCIS event (OTHER when it has no bizStep)."""
    return kind_of_biz_step(event.get("bizStep"))
