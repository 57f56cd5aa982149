"""`insert_rows`, the indexer's bulk insert: driver SQL that stores what SQLAlchemy's
`insert(table)` stores, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from ledger_client.db import insert_rows, table_of
from ledger_client.indexer.read_model import EpcisEvent, EpcisSensorReport

EVENT = table_of(EpcisEvent)
SENSOR = table_of(EpcisSensorReport)


def _event(n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "batch_id": f"0x{n:064x}",
        "event_index": n,
        "block_number": 7,
        "log_index": n,
        "event_type": "ObjectEvent",
        "event_time": datetime(2026, 11, 21, 9, 0, 0, 123_000, tzinfo=UTC),
        "event_time_zone_offset": "+01:00",
        "record_time": datetime(2026, 12, 1, 1, 2, 3, tzinfo=timezone(timedelta(hours=2))),
        "event_id": None,
        "action": "OBSERVE",
        "biz_step": "shipping",
        "disposition": None,
        "read_point": "https://id.gs1.org/414/9506000000001",
        "biz_location": None,
        "transformation_id": None,
        "error_declared": n % 2 == 0,
        "error_declaration_time": None,
        "error_reason": "ünïcode ✓",
        **overrides,
    }


def _report(n: int) -> dict[str, Any]:
    return {
        "batch_id": f"0x{n:064x}",
        "event_index": 0,
        "ordinal": 0,
        "block_number": 7,
        "type": "Temperature",
        "boolean_value": None if n % 3 == 0 else n % 3 == 1,
        "value": 4.25 + n,
        "min_value": None,
        "uom": "CEL",
        "time": datetime(2026, 11, 21, 9, n, tzinfo=UTC),
    }


def _stored(engine: Engine, table_name: str) -> list[tuple[Any, ...]]:
    """The table's rows as the driver returns them (no result processing), keyed apart from
    the batch id (which differs between the two copies)."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"SELECT * FROM {table_name} ORDER BY batch_id").all()
    return [tuple(row)[1:] for row in rows]


def _copy_through_sqlalchemy(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(table), rows)


@pytest.mark.parametrize(("table", "make"), [(EVENT, _event), (SENSOR, _report)])
def test_stores_exactly_what_sqlalchemy_stores(engine, table, make):
    rows = [make(n) for n in range(6)]
    with engine.begin() as connection:
        insert_rows(connection, table, rows)
    ours = _stored(engine, table.name)
    with engine.begin() as connection:
        connection.execute(delete(table))
    _copy_through_sqlalchemy(engine, table, rows)

    assert len(ours) == 6
    assert ours == _stored(engine, table.name)


def test_no_rows_is_nothing_to_do(engine):
    with engine.begin() as connection:
        insert_rows(connection, EVENT, [])
    assert _stored(engine, EVENT.name) == []


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_stores_nothing(engine):
    with engine.begin() as connection:
        insert_rows(connection, EVENT, [_event(1)])

    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_rows(connection, EVENT, [_event(2), _event(1, log_index=99)])

    assert [row[2] for row in _stored(engine, EVENT.name)] == [1]


def test_a_row_missing_a_column_of_the_first_is_refused_before_anything_is_written(engine):
    incomplete = _event(2)
    del incomplete["biz_step"]

    with pytest.raises(KeyError, match="biz_step"), engine.begin() as connection:
        insert_rows(connection, EVENT, [_event(1), incomplete])

    assert _stored(engine, EVENT.name) == []
