"""The access trail's table: entries appended in number order, never updated by this code.

Instants are kept as the text that was hashed, so what is read back hashes the same on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace

from sqlalchemy import Engine, Index, insert, text
from sqlmodel import Field, Session, SQLModel, col, select

from api.trail import GENESIS, ChainedEntry, TrailEntry, TrailHead
from ledger_client.db import for_writing

# pg_advisory_xact_lock key held while an entry is appended ("provtrai" as a signed int64):
# API processes sharing one PostgreSQL take turns at the head.
_APPEND_LOCK_KEY = int.from_bytes(b"provtrai", "big", signed=True)
MAX_PAGE = 500
_CHUNK = 1_000


class TrailRow(SQLModel, table=True):
    """One entry of the access trail (see `api.trail.TrailEntry`)."""

    __tablename__ = "access_trail"
    __table_args__ = (Index("ix_access_trail_organization", "organization", "seq"),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str = Field(max_length=32)
    principal: str = Field(max_length=64)
    organization: str = Field(max_length=200)
    role: str = Field(max_length=32)
    method: str = Field(max_length=16)
    path: str = Field(max_length=2_048)
    query: str = Field(max_length=4_096)
    status: int
    previous: str = Field(max_length=64)
    hash: str = Field(max_length=64)


TRAIL_TABLES = [SQLModel.metadata.tables[TrailRow.__tablename__]]
_TABLE = TRAIL_TABLES[0]
_HEAD = select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)


def create_trail_tables(engine: Engine) -> None:
    """Create the trail table if it does not exist yet."""
    SQLModel.metadata.create_all(engine, tables=TRAIL_TABLES)


def _chained(row: TrailRow) -> ChainedEntry:
    entry = TrailEntry(
        seq=row.seq,
        at=row.at,
        principal=row.principal,
        organization=row.organization,
        role=row.role,
        method=row.method,
        path=row.path,
        query=row.query,
        status=row.status,
    )
    return ChainedEntry(entry, row.previous, row.hash)


class TrailStore:
    """The access trail in the database behind `engine` (see `create_trail_tables`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, entry: TrailEntry) -> ChainedEntry:
        """Append `entry` as the next number (its own `seq` is ignored), chained to the head."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[TrailEntry]) -> list[ChainedEntry]:
        """Append `entries` in order as the next numbers (their own `seq` ignored), chained to
        the head, in one transaction: all or none."""
        chained: list[ChainedEntry] = []
        # Core, not the ORM: this runs for every authenticated request.
        with for_writing(self.engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY}
                )
            head = connection.execute(_HEAD).first()
            previous, seq = (head.hash, head.seq + 1) if head is not None else (GENESIS, 1)
            rows = []
            for entry in entries:
                numbered = replace(entry, seq=seq)
                stored = ChainedEntry(numbered, previous, numbered.hash_after(previous))
                chained.append(stored)
                rows.append({**asdict(numbered), "previous": previous, "hash": stored.hash})
                previous, seq = stored.hash, seq + 1
            if rows:
                connection.execute(insert(_TABLE), rows)  # one executemany
        return chained

    def head(self) -> TrailHead:
        """The last entry's hash and number as stored (not verified)."""
        with Session(self.engine) as session:
            last = session.exec(
                select(TrailRow).order_by(col(TrailRow.seq).desc()).limit(1)
            ).first()
        return TrailHead(last.hash, last.seq) if last is not None else TrailHead(GENESIS, 0)

    def page(
        self, *, after: int = 0, limit: int = 100, organization: str | None = None
    ) -> list[ChainedEntry]:
        """Up to `limit` (at most `MAX_PAGE`) entries numbered above `after`, in order; only
        `organization`'s when given."""
        query = select(TrailRow).where(col(TrailRow.seq) > after)
        if organization is not None:
            query = query.where(TrailRow.organization == organization)
        query = query.order_by(col(TrailRow.seq)).limit(min(limit, MAX_PAGE))
        with Session(self.engine) as session:
            return [_chained(row) for row in session.exec(query)]

    def entries(self) -> Iterator[ChainedEntry]:
        """Every entry in number order (whatever numbers the table holds), a chunk at a time."""
        after: int | None = None
        while True:
            query = select(TrailRow).order_by(col(TrailRow.seq)).limit(_CHUNK)
            if after is not None:
                query = query.where(col(TrailRow.seq) > after)
            with Session(self.engine) as session:
                chunk = [_chained(row) for row in session.exec(query)]
            yield from chunk
            if len(chunk) < _CHUNK:
                return
            after = chunk[-1].entry.seq
