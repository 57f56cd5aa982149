"""The database toolkit every layer uses: one engine factory for embedded SQLite and for
PostgreSQL, writers that take the write lock up front, schema changes that take turns,
unions of look-ups read as driver rows, and the Core table of a table model."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Engine,
    Select,
    Table,
    create_engine,
    event,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import SQLModel

from ledger_client.errors import ConfigurationError

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
# SQLite's own default page cache (2 MiB a connection); hot writers ask for more.
SQLITE_CACHE_MIB = 2
# Connections of a SQLite engine kept open between uses (and as many more opened at peaks).
SQLITE_POOL_SIZE = 20
# pg_advisory_xact_lock key held while a schema is created ("provschm" as a signed int64).
_SCHEMA_LOCK_KEY = int.from_bytes(b"provschm", "big", signed=True)
_LOCK_SCHEMA = text("SELECT pg_advisory_xact_lock(:key)")
# Execution option read by the SQLite `begin` hook: writers take the write lock up front.
_BEGIN_MODE = "provenance_sqlite_begin"
_HOLDS_WRITER = "provenance_sqlite_writer"


def table_of(model: type[SQLModel]) -> Table:
    """The Core table a table model is mapped to (for bulk inserts and column-wise reads)."""
    # SQLModel's metaclass sets `__table__` on table models, but SQLModel does not declare it.
    return model.__table__  # type: ignore[attr-defined]


def make_engine(
    url: str,
    *,
    sqlite_cache_mib: int = SQLITE_CACHE_MIB,
    variable: str = "PROVENANCE_DATABASE_URL",
) -> Engine:
    """An engine for the database at `url` (set by the environment variable `variable`,
    which a refusal names).

    `sqlite:///path` gets WAL, `synchronous=NORMAL`, a busy timeout and `sqlite_cache_mib`
    of page cache per connection; its transactions begin DEFERRED unless taken from
    `for_writing(engine)`. `postgresql://...` (and `postgres://...`) use psycopg 3.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, cache_mib=sqlite_cache_mib)
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigurationError(
        f"unsupported database URL scheme {parsed.drivername!r}: "
        f"set {variable} to sqlite:///path or postgresql://user@host/db"
    )


def for_writing(engine: Engine) -> Engine:
    """The same engine (same pool) whose SQLite transactions start with `BEGIN IMMEDIATE`.

    A writer that first reads and then writes would otherwise fail with "database is
    locked" when another writer got there between its read and its write.
    """
    return engine.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})


def checkpoint(engine: Engine) -> None:
    """Copy what SQLite's write-ahead log holds into the database file, as far as readers
    allow, without waiting for any reader or writer (`PASSIVE`); nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").close()


def driver_rows(
    connection: Connection, statement: Executable, parameters: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of a SELECT as the driver's own tuples, inside `connection`'s transaction.

    For hot reads of many rows: building SQLAlchemy `Row`s costs several times what SQLite
    takes to find them. No result processing is applied, so only for columns the driver
    returns as they are meant (integers, floats, text, bytes) and plain bound values
    (no expanding IN).
    """
    compiled = _compiled(statement, connection.dialect)
    values = compiled.construct_params(parameters) or {}
    arguments: Any = (
        tuple(values[name] for name in compiled.positiontup or ())
        if compiled.positional
        else values
    )
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None  # an open Connection has its DBAPI connection
    cursor = dbapi.cursor()
    try:
        cursor.execute(compiled.string, arguments)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """`INSERT` `rows` (all with the keys of the first) into `table` inside `connection`'s
    transaction, as one `executemany` of driver SQL: the values stored are those
    `connection.execute(insert(table), rows)` stores (each column's bind processing is
    applied), without SQLAlchemy's per-row parameter building, which costs more than
    SQLite's insert itself. A table whose omitted columns have Python-side defaults goes
    through SQLAlchemy."""
    if not rows:
        return
    names = tuple(rows[0])
    plan = _insert_plan(table, names, connection.dialect)
    if plan is None:
        connection.execute(table.insert(), list(rows))
        return
    sql, processors = plan
    values_of = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    arguments: list[Any] = [values_of(row) for row in rows]
    processed = [(i, process) for i, process in enumerate(processors) if process is not None]
    if processed:
        for n, values in enumerate(arguments):
            row = list(values)
            for i, process in processed:
                row[i] = process(row[i])
            arguments[n] = tuple(row)
    # As driver SQL, a failure is still SQLAlchemy's (IntegrityError, …).
    connection.exec_driver_sql(sql, arguments).close()


_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@lru_cache(maxsize=256)
def _insert_plan(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]] | None:
    """The driver's INSERT statement for `names` of `table` and each column's bind
    processor; None when the driver's parameter style or a column default needs SQLAlchemy."""
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    omitted = [c for c in table.columns if c.name not in names]
    if placeholder is None or any(c.default is not None for c in omitted):
        return None
    columns = [table.columns[name] for name in names]
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(c.name) for c in columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))})"
    )
    processors = tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
    return sql, processors


# Look-ups per compound statement: SQLite allows 500 terms in one compound SELECT.
LOOKUPS_PER_UNION = 200


def union_of_lookups(lookup: Callable[[int], Select[Any]], count: int) -> CompoundSelect:
    """One statement running `lookup(0)` … `lookup(count - 1)` together: each stays a
    subquery of its own, so each keeps its ORDER BY / LIMIT and its own index walk, and
    the database is asked once instead of `count` times (a round trip each on PostgreSQL).
    Look-up n's parameters are named `{name}_{n}`; `union_lookup_rows` runs it."""
    subqueries = [lookup(n).subquery() for n in range(count)]
    return union_all(*(select(*subquery.c) for subquery in subqueries))


def union_lookup_rows(
    connection: Connection,
    statement: Callable[[int], Executable],
    lookups: Sequence[Mapping[str, object]],
) -> Iterator[tuple[Any, ...]]:
    """The driver rows of `lookups` (each its parameters by name) run through
    `statement(count)` — a `union_of_lookups`, best cached per count — at most
    `LOOKUPS_PER_UNION` at a time; lazily, so a caller may stop at the first row."""
    for start in range(0, len(lookups), LOOKUPS_PER_UNION):
        chunk = lookups[start : start + LOOKUPS_PER_UNION]
        parameters = {
            f"{name}_{n}": value for n, lookup in enumerate(chunk) for name, value in lookup.items()
        }
        yield from driver_rows(connection, statement(len(chunk)), parameters)


@lru_cache(maxsize=256)
def _compiled(statement: Executable, dialect: Dialect) -> SQLCompiler:
    """`statement` compiled for `dialect`, once (the hot statements are module constants)."""
    return cast(SQLCompiler, statement.compile(dialect=dialect))  # type: ignore[attr-defined]


@contextmanager
def schema_change(engine: Engine) -> Iterator[Connection]:
    """One transaction to create or drop tables and indexes in. On PostgreSQL, processes
    starting together take turns (an advisory lock): the second finds what the first made
    instead of failing on it (SQLAlchemy checks, then creates — a race without the lock).
    SQLite's writers take turns already."""
    with for_writing(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(_LOCK_SCHEMA, {"key": _SCHEMA_LOCK_KEY})
        yield connection


def _enter_wal(cursor: Any) -> None:
    """Switch the database to WAL. On a new database that takes an exclusive lock SQLite
    does not wait for (the busy handler is not called), so processes or threads opening it
    together get "database is locked" at once: they retry, within the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def _sqlite_engine(url: str, *, cache_mib: int) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    pool: dict[str, Any] = {}
    if database and database != ":memory:":
        # Enough kept open for an API's concurrent readers: beyond the default 5, each
        # request opened a connection and set it up again (~0.8 ms of a query's ~4.5 ms of
        # CPU under 16 clients, bench/api.py).
        pool = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_SIZE}
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **pool)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, decides when transactions begin (see `_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _enter_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size={-1024 * cache_mib}")  # negative: KiB
        # A committing writer checkpoints once the WAL holds this many pages (~40 MiB; the
        # default is 1,000). Long-running writers checkpoint from a thread of their own
        # (`checkpoint`), so that a commit seldom pays for copying and syncing the WAL.
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    # One writer of this engine at a time, queued here: SQLite's busy handler would make
    # the others poll for the write lock, sleeping up to 100 ms between tries.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        if mode == "IMMEDIATE":
            writer.acquire()
            try:
                connection.exec_driver_sql(f"BEGIN {mode}")
            except BaseException:
                writer.release()
                raise
            connection.info[_HOLDS_WRITER] = True
            return
        connection.exec_driver_sql(f"BEGIN {mode}")

    def _end(connection: Connection, *, commit: bool) -> None:
        # Ended here, before the lock is passed on; SQLAlchemy's own COMMIT / ROLLBACK then
        # finds no transaction open, which the sqlite3 module treats as nothing to do.
        if not connection.info.pop(_HOLDS_WRITER, False):
            return
        try:
            dbapi = connection.connection.dbapi_connection
            assert dbapi is not None  # a connection in a transaction has its DBAPI connection
            if not commit:
                dbapi.rollback()
                return
            try:
                dbapi.commit()
            except sqlite3.Error as exc:
                # E.g. a full disk: SQLite may have rolled back already; end it either way,
                # and report it as SQLAlchemy would (OperationalError, not a bare sqlite3 one).
                with contextlib.suppress(sqlite3.Error):
                    dbapi.rollback()
                raise DBAPIError.instance(
                    "COMMIT", None, exc, sqlite3.Error, dialect=connection.dialect
                ) from exc
        finally:
            writer.release()

    event.listen(engine, "commit", lambda connection: _end(connection, commit=True))
    event.listen(engine, "rollback", lambda connection: _end(connection, commit=False))

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        # A connection returned mid-transaction (the pool rolls it back): pass the lock on.
        if record is not None and record.info.pop(_HOLDS_WRITER, False):
            writer.release()

    return engine
