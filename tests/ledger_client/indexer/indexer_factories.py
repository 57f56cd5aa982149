"""Test data for the indexer tests: EPCIS payloads, anchoring shortcuts, exports."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from ledger_client.indexer.export import canonical_export
from ledger_client.ledger import EventKind, LedgerWriter


def epcis_payload(n: int, *, biz_step: str = "shipping", minute: int = 0) -> bytes:
    """A small canonical EPCIS 2.0 ObjectEvent (keys sorted, no spaces)."""
    event = {
        "action": "OBSERVE",
        "bizStep": biz_step,
        "epcList": [f"https://id.gs1.org/01/09506000134352/21/SN-{n}"],
        "eventTime": f"2026-11-21T10:{minute:02d}:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "type": "ObjectEvent",
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record(
    writer: LedgerWriter, batch_id: bytes, payloads: list[bytes], kind: EventKind = EventKind.OTHER
) -> None:
    writer.record_events(batch_id, [(kind, p) for p in payloads])


def export_of(engine: Engine) -> bytes:
    return b"".join(canonical_export(engine))
