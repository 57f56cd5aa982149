"""The bridge's schema: made by whichever instance starts first, brought up to date on a
database an earlier version made."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect, text

from ledger_client.db import make_engine
from oracle_bridge.store import BRIDGE_TABLES, create_bridge_tables

pytestmark = pytest.mark.unit

INBOX = "bridge_inbox_reading"


def index_names(engine, table: str = INBOX) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes(table)}


def test_a_database_an_earlier_version_made_gets_the_new_index_and_loses_the_retired_one(
    databases,
):
    engine = databases.engine()
    with engine.begin() as connection:  # as the version before the pending index left it
        connection.execute(text("DROP INDEX ix_bridge_inbox_pending"))
        connection.execute(
            text(
                f"CREATE INDEX ix_bridge_inbox_unwindowed ON {INBOX}"
                " (batch_id, device, seq, received_at) WHERE window_id IS NULL"
            )
        )
    assert "ix_bridge_inbox_pending" not in index_names(engine)

    create_bridge_tables(engine)

    names = index_names(engine)
    assert "ix_bridge_inbox_pending" in names
    assert "ix_bridge_inbox_unwindowed" not in names


def test_instances_starting_together_on_an_empty_database_all_start(databases):
    """Each instance creates what is missing at start; on PostgreSQL, without taking turns,
    the slower ones fail on what the first just created."""
    url = databases.url()
    instances = 4
    engines = [make_engine(url) for _ in range(instances)]
    together = threading.Barrier(instances)
    failures: list[BaseException] = []

    def start(engine) -> None:
        together.wait()
        try:
            create_bridge_tables(engine)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        tables = set(inspect(engines[0]).get_table_names())
        assert {table.name for table in BRIDGE_TABLES} <= tables
        assert "ix_bridge_inbox_pending" in index_names(engines[0])
    finally:
        for engine in engines:
            engine.dispose()
