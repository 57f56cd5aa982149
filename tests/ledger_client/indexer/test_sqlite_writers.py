"""SQLite writers of one engine queue on a lock instead of SQLite's sleeping busy handler."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ledger_client.db import checkpoint, for_writing, make_engine

# Far below SQLite's 30 s busy timeout: a writer left holding the lock shows as a hang here.
JOIN_S = 5


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT n FROM counter")).scalar_one()


def increment(engine: Engine) -> None:
    # Read, then write, in one transaction: lost updates would show in the final count.
    with for_writing(engine).begin() as connection:
        n = connection.execute(text("SELECT n FROM counter")).scalar_one()
        connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})


def in_thread(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def test_concurrent_writers_each_commit_in_turn(engine: Engine) -> None:
    def writer() -> None:
        for _ in range(50):
            increment(engine)

    threads = [in_thread(writer) for _ in range(4)]
    for thread in threads:
        thread.join(JOIN_S)
    assert not any(thread.is_alive() for thread in threads), "a writer is stuck"
    assert count(engine) == 200


def test_a_failed_write_rolls_back_and_passes_the_lock_on(engine: Engine) -> None:
    with pytest.raises(RuntimeError), for_writing(engine).begin() as connection:
        connection.execute(text("UPDATE counter SET n = 99"))
        raise RuntimeError("the writer failed")
    thread = in_thread(increment, engine)
    thread.join(JOIN_S)
    assert not thread.is_alive(), "the lock was not released after the rollback"
    assert count(engine) == 1


def test_a_connection_closed_mid_transaction_passes_the_lock_on(engine: Engine) -> None:
    connection = for_writing(engine).connect()
    connection.begin()
    connection.execute(text("UPDATE counter SET n = 99"))
    connection.close()
    thread = in_thread(increment, engine)
    thread.join(JOIN_S)
    assert not thread.is_alive(), "the lock was not released when the connection closed"
    assert count(engine) == 1


def test_a_second_writer_waits_for_the_first_to_commit(engine: Engine) -> None:
    first_wrote, release_first = threading.Event(), threading.Event()

    def first() -> None:
        with for_writing(engine).begin() as connection:
            connection.execute(text("UPDATE counter SET n = 10"))
            first_wrote.set()
            release_first.wait(JOIN_S)

    holder = in_thread(first)
    assert first_wrote.wait(JOIN_S)
    second = in_thread(increment, engine)
    second.join(0.3)
    assert second.is_alive(), "the second writer did not wait for the first"
    release_first.set()
    for thread in (holder, second):
        thread.join(JOIN_S)
    assert count(engine) == 11


def in_database_file(path: Path) -> int:
    """The count as the database file alone holds it (`immutable` ignores the WAL)."""
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as connection:
        return connection.execute("SELECT n FROM counter").fetchone()[0]


def test_checkpoint_copies_the_write_ahead_log_into_the_database(
    engine: Engine, tmp_path: Path
) -> None:
    checkpoint(engine)
    for _ in range(20):
        increment(engine)
    assert in_database_file(tmp_path / "writers.db") == 0
    checkpoint(engine)
    assert in_database_file(tmp_path / "writers.db") == 20


def test_the_page_cache_is_sqlites_default_unless_asked_for(tmp_path: Path) -> None:
    """Only the bridge's engines take the large cache; the indexer keeps SQLite's 2 MiB."""
    default = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    bridge = make_engine(f"sqlite:///{tmp_path / 'bridge.db'}", sqlite_cache_mib=64)
    try:
        with default.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -2048
        with bridge.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -65536
    finally:
        default.dispose()
        bridge.dispose()
