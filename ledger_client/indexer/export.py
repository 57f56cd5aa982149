"""A canonical dump of the read model: equal read models give byte-identical exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from ledger_client.db import table_of
from ledger_client.indexer.genealogy import EpcisEdge, TransformationPort
from ledger_client.indexer.read_model import (
    Batch,
    BatchParent,
    Checkpoint,
    CustodyOffer,
    CustodyTransfer,
    EpcisEvent,
    EpcisSensorReport,
    EpcisTerm,
    IndexedBlock,
    LedgerEvent,
    Organization,
    OrganizationStatusChange,
    RoleAssignment,
    StatusChange,
)

# Every table, in a fixed order, each sorted by a key unique within it.
_EXPORT_ORDER: tuple[tuple[type[SQLModel], tuple[str, ...]], ...] = (
    (Organization, ("block_number", "log_index")),
    (OrganizationStatusChange, ("block_number", "log_index")),
    (RoleAssignment, ("block_number", "log_index")),
    (Batch, ("block_number", "log_index")),
    (BatchParent, ("block_number", "log_index", "parent_id")),
    (LedgerEvent, ("block_number", "log_index")),
    (StatusChange, ("block_number", "log_index")),
    (CustodyTransfer, ("block_number", "log_index")),
    (CustodyOffer, ("block_number", "log_index")),
    (EpcisEvent, ("block_number", "log_index")),
    (EpcisTerm, ("batch_id", "event_index", "ordinal")),
    (EpcisSensorReport, ("batch_id", "event_index", "ordinal")),
    (EpcisEdge, ("batch_id", "event_index", "ordinal")),
    (TransformationPort, ("batch_id", "event_index", "ordinal")),
    (IndexedBlock, ("number",)),
    (Checkpoint, ("name",)),
)
_ROWS_PER_FETCH = 1_000


def canonical_export(engine: Engine) -> Iterator[bytes]:
    """One JSON line per row of every read model table, streamed.

    Lines are `{"table": ..., <column>: <value>, ...}` with sorted keys, compact
    separators and datetimes in ISO 8601, tables and rows in a stable order.
    """
    with engine.connect() as connection:
        for model, order in _EXPORT_ORDER:
            table = table_of(model)
            columns = sorted(table.columns.keys())
            query = select(*(table.c[c] for c in columns)).order_by(*(table.c[c] for c in order))
            result = connection.execution_options(
                stream_results=True, yield_per=_ROWS_PER_FETCH
            ).execute(query)
            for row in result:
                record: dict[str, Any] = {"table": table.name}
                record.update(zip(columns, row, strict=True))
                yield (
                    json.dumps(
                        record, sort_keys=True, separators=(",", ":"), default=_json_value
                    ).encode()
                    + b"\n"
                )


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__} {value!r}")
