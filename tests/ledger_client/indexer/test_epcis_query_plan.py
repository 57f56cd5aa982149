"""An identifier query reads the matching terms through their indexes, once per query, not
the whole field's terms once per event, and fetches just their events (bench/api.py found
MATCH_epc taking ~1 s for one page over 2,000 events on SQLite, and ~70 ms over 100,000
once the terms were read by index, walking every event in block order)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlalchemy.dialects import sqlite

from ledger_client.db import make_engine, table_of
from ledger_client.epcis_query import events as queries
from ledger_client.epcis_query.parameters import parse_query
from ledger_client.indexer.decoding import EventRecorded, LogRef
from ledger_client.indexer.event_rows import event_rows
from ledger_client.indexer.read_model import create_read_model
from ledger_client.ledger import EventKind

ITEMS = 20
PER_ITEM = 30
BLOCK_TIME = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())


def item(number: int) -> str:
    return f"https://id.gs1.org/01/09506000134352/21/ITEM{number:03d}"


def event_id(number: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{number:012x}"


def _read_model(tmp_path: Path) -> Engine:
    """Events of the items interleaved in block order, as a node that files them
    over time would hold them."""
    engine = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(engine)
    rows: dict[Any, list[dict[str, Any]]] = {}
    for number in range(ITEMS * PER_ITEM):
        payload = json.dumps(
            {
                "type": "ObjectEvent",
                "eventID": event_id(number),
                "eventTime": "2026-11-02T10:00:00.000Z",
                "eventTimeZoneOffset": "+00:00",
                "action": "OBSERVE",
                "epcList": [item(number % ITEMS)],
            }
        )
        recorded = EventRecorded(
            ref=LogRef(100 + number, f"0x{number:064x}", f"0x{number:064x}", 0, "0x0"),
            batch_id=f"0x{number % ITEMS:064x}",
            payload_hash=f"0x{number:064x}",
            recorder="0x" + "11" * 20,
            event_index=number // ITEMS,
            kind=EventKind.OTHER,
            position=0,
        )
        for table, table_rows in event_rows(recorded, payload, BLOCK_TIME).items():
            rows.setdefault(table, []).extend(table_rows)
    with engine.begin() as connection:
        for table, table_rows in rows.items():
            if table_rows:
                connection.execute(insert(table_of(table)), table_rows)
    return engine


def _plan(engine: Engine, parameters: list[tuple[str, str]]) -> str:
    query = parse_query(parameters)
    conditions = [queries._condition(f) for f in query.filters]
    statement = queries._page_statement(
        conditions, queries._order_columns(query), query.descending, None, query.per_page
    )
    sql = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        return "\n".join(row[3] for row in connection.execute(text("EXPLAIN QUERY PLAN " + sql)))


def test_match_epc_reads_the_items_terms_by_index_once_per_query(tmp_path: Path) -> None:
    engine = _read_model(tmp_path)
    parameters = [("MATCH_epc", item(7)), ("perPage", "10")]

    page = queries.query_events(engine, parse_query(parameters))
    plan = _plan(engine, parameters)

    assert [json.loads(p)["eventID"] for p in page.payloads] == [
        event_id(n) for n in range(7, 7 + 10 * ITEMS, ITEMS)
    ]
    assert page.next_page_token is not None
    assert "CORRELATED" not in plan, plan
    assert "epcis_term USING INDEX ix_epcis_term_canonical (field=? AND canonical=?)" in plan
    assert "epcis_term USING INDEX ix_epcis_term_text (field=? AND text=?)" in plan
    # The page's events fetched by key from the matches, not every event walked in order.
    assert "SEARCH epcis_event USING INDEX sqlite_autoindex_epcis_event_1" in plan
    assert "SCAN epcis_event" not in plan


def test_an_equality_on_a_term_reads_it_by_index_once_per_query(tmp_path: Path) -> None:
    engine = _read_model(tmp_path)
    parameters = [("EQ_bizTransaction_po", "urn:epcglobal:cbv:bt:9506000000001:42")]

    page = queries.query_events(engine, parse_query(parameters))
    plan = _plan(engine, parameters)

    assert page.payloads == []
    assert "CORRELATED" not in plan, plan
