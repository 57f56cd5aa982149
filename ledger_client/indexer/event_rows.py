"""The read model rows of one anchored EPCIS event: its `ledger_event` row and the query
tables' rows (`epcis_event`, `epcis_term`, `epcis_sensor_report`), built in one place so the
indexer and a rebuild store exactly the same thing."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlmodel import SQLModel

from ledger_client import json_input
from ledger_client.epcis_query.extraction import index_event
from ledger_client.indexer.decoding import EventRecorded, payload_columns
from ledger_client.indexer.read_model import (
    EpcisEvent,
    EpcisSensorReport,
    EpcisTerm,
    LedgerEvent,
)

Rows = dict[type[SQLModel], list[dict[str, Any]]]


def event_rows(event: EventRecorded, payload: str | None, block_time: int) -> Rows:
    """Rows for `event`, whose payload (None when calldata could not be decoded) was
    anchored in a block made at `block_time` (Unix seconds)."""
    columns = payload_columns(payload)
    rows: Rows = {
        LedgerEvent: [
            {
                "batch_id": event.batch_id,
                "event_index": event.event_index,
                "payload_hash": event.payload_hash,
                "kind": event.kind.name,
                "recorder": event.recorder,
                "block_number": event.ref.block_number,
                "block_hash": event.ref.block_hash,
                "tx_hash": event.ref.tx_hash,
                "log_index": event.ref.log_index,
                "position": event.position,
                "payload": payload,
                "event_type": columns.event_type,
                "event_time": columns.event_time,
                "biz_step": columns.biz_step,
            }
        ],
        EpcisEvent: [],
        EpcisTerm: [],
        EpcisSensorReport: [],
    }
    document = _json_object(payload)
    index = index_event(document) if document is not None else None
    if index is None:
        return rows
    key = {
        "batch_id": event.batch_id,
        "event_index": event.event_index,
        "block_number": event.ref.block_number,
    }
    fields = asdict(index.fields)
    if fields["record_time"] is None:
        fields["record_time"] = datetime.fromtimestamp(block_time, UTC)
    rows[EpcisEvent].append({**key, "log_index": event.ref.log_index, **fields})
    rows[EpcisTerm] = [
        {**key, "ordinal": ordinal, **asdict(term)} for ordinal, term in enumerate(index.terms)
    ]
    rows[EpcisSensorReport] = [
        {**key, "ordinal": ordinal, **report} for ordinal, report in enumerate(index.sensor_reports)
    ]
    return rows


def _json_object(payload: str | None) -> dict[str, Any] | None:
    if payload is None:
        return None
    try:
        document = json_input.loads(payload)
    except ValueError:  # not JSON, or nested too deep to read safely
        return None
    return document if isinstance(document, dict) else None
