"""The read model rows of one anchored EPCIS event: its `ledger_event` row and the query
tables' rows (`epcis_event`, `epcis_term`, `epcis_sensor_report`), built in one place so the
indexer and a rebuild store exactly the same thing.

An event filed under several batches (`recordFiledEvents`) has one `EventRecorded` log, so
one `ledger_event` row, per batch: each row is that filing's proof (its own `tx_hash`,
`block_number`, `log_index`, `event_index` in the batch's history, and the event's
`payload_hash`). The query tables hold the event once, keyed by its first filing: the log
with the lowest index among the transaction's logs of the same payload position. So
`GET /events` returns it once, with the proof of that first filing, and every other filing
names the same transaction and payload hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import SQLModel

from ledger_client.epcis_query.extraction import index_event
from ledger_client.indexer.decoding import EventRecorded, columns_of, payload_document
from ledger_client.indexer.genealogy import EpcisEdge, TransformationPort, genealogy_rows
from ledger_client.indexer.read_model import (
    EpcisEvent,
    EpcisSensorReport,
    EpcisTerm,
    LedgerEvent,
)

Rows = dict[type[SQLModel], list[dict[str, Any]]]


def event_rows(
    event: EventRecorded, payload: str | None, block_time: int, *, first_filing: bool = True
) -> Rows:
    """Rows for `event`, whose payload (None when calldata could not be decoded) was
    anchored in a block made at `block_time` (Unix seconds); the query tables' rows only
    for the event's `first_filing`."""
    # Parsed once for the ledger_event columns and the query tables alike.
    document = payload_document(payload)
    columns = columns_of(document)
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
        EpcisEdge: [],
        TransformationPort: [],
    }
    index = index_event(document) if document is not None and first_filing else None
    if document is None or index is None:
        return rows
    key = {
        "batch_id": event.batch_id,
        "event_index": event.event_index,
        "block_number": event.ref.block_number,
    }
    fields = dict(vars(index.fields))
    if fields["record_time"] is None:
        fields["record_time"] = datetime.fromtimestamp(block_time, UTC)
    rows[EpcisEvent].append({**key, "log_index": event.ref.log_index, **fields})
    rows[EpcisTerm] = [
        {**key, "ordinal": ordinal, **vars(term)} for ordinal, term in enumerate(index.terms)
    ]
    rows[EpcisSensorReport] = [
        {**key, "ordinal": ordinal, **report} for ordinal, report in enumerate(index.sensor_reports)
    ]
    rows[EpcisEdge], rows[TransformationPort] = genealogy_rows(document, key)
    return rows
