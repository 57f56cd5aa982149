"""The bridge's durable state: the inbox, the two outboxes, compliance states, dead letters.

Every row a writer changes in one step is changed in one transaction (`writing(engine)`):
a window, the readings it takes, the compliance state it advances and the submissions it
decides on commit together, so a crash leaves either all of them or none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Engine, Index, Integer, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, Session, SQLModel

from ledger_client.db import for_writing, schema_change
from oracle_bridge.readings import Reading, SignedReading
from oracle_bridge.rules import ComplianceState

# 64-bit ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer(), "sqlite")
# The bridge stores seqs and timestamps as signed 64-bit integers (ingest refuses larger).
MAX_STORED_INT = 2**63 - 1
# Page cache of a bridge's SQLite connections: the inbox's indexes stay in memory (with
# SQLite's default 2 MiB, every batch's inserts re-read index pages).
BRIDGE_SQLITE_CACHE_MIB = 64


# What no database stores as text: SQLite's UTF-8 has no lone surrogates, PostgreSQL's text no NUL.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with each character SQLite or PostgreSQL cannot store as text (NUL, a lone
    surrogate) written as its `\\uXXXX` escape: for text derived from outside input, such as
    a refusal's reason quoting a key of the refused JSON."""
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class WindowStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    ANCHORED = "ANCHORED"


class SubmissionStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    CONFIRMED = "CONFIRMED"
    # The chain refused it for good (e.g. the device was unassigned meanwhile); see `error`.
    FAILED = "FAILED"


class InboxReading(SQLModel, table=True):
    """An accepted signed reading; `window_id` is set once a window takes it."""

    __tablename__ = "bridge_inbox_reading"
    __table_args__ = (
        UniqueConstraint("device", "seq", name="uq_bridge_inbox_device_seq"),
        # The pending readings in arrival order: new rows append at the index's end, so a
        # batch's commit rewrites a few index pages, where an index keyed by pair rewrote
        # one or more per device in the batch (half the inbox's SQLite work). A pair's
        # pending rows are read through the unique index instead, above its last window.
        Index(
            "ix_bridge_inbox_pending",
            "id",
            sqlite_where=text("window_id IS NULL"),
            postgresql_where=text("window_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    device: str = Field(max_length=42)
    batch_id: bytes = Field(sa_type=LargeBinary)
    seq: int = Field(sa_type=BigInteger)
    timestamp: int = Field(sa_type=BigInteger)
    temp_milli_c: int
    humidity_permille: int
    signature: bytes = Field(sa_type=LargeBinary)
    # EIP-712 digest under the bridge's domain: tells a redelivery from a replay.
    digest: bytes = Field(sa_type=LargeBinary)
    received_at: float
    source: str
    window_id: int | None = Field(default=None, foreign_key="bridge_reading_window.id", sa_type=_ID)

    def signed_reading(self) -> SignedReading:
        return signed_reading_of(self)


def signed_reading_of(row: Any) -> SignedReading:
    """The signed reading of an inbox row: an `InboxReading`, or a Core row of its table
    (its values were validated before they were stored)."""
    return SignedReading(
        reading=Reading.stored(
            row.device,
            row.batch_id,
            row.seq,
            row.timestamp,
            row.temp_milli_c,
            row.humidity_permille,
        ),
        signature=row.signature,
    )


class ReadingWindow(SQLModel, table=True):
    """The outbox of `anchorReadings`: one device's contiguous readings of one batch."""

    __tablename__ = "bridge_reading_window"
    __table_args__ = (
        UniqueConstraint("batch_id", "device", "first_seq", name="uq_bridge_window_start"),
        Index("ix_bridge_window_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    batch_id: bytes = Field(sa_type=LargeBinary)
    device: str = Field(max_length=42)
    first_seq: int = Field(sa_type=BigInteger)
    last_seq: int = Field(sa_type=BigInteger)
    merkle_root: bytes = Field(sa_type=LargeBinary)
    packed: bytes = Field(sa_type=LargeBinary)
    status: WindowStatus = Field(default=WindowStatus.PENDING, max_length=16)
    created_at: float
    # The chain head when a transaction for this window was first about to be sent: a log
    # search for an anchoring the bridge lost track of starts there. None: never sent.
    send_attempted_block: int | None = Field(default=None, sa_type=BigInteger)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=BigInteger)


class ComplianceSubmission(SQLModel, table=True):
    """The outbox of `submitReadings`: readings of one window the contract must see, in order."""

    __tablename__ = "bridge_compliance_submission"
    __table_args__ = (Index("ix_bridge_submission_status", "status"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    batch_id: bytes = Field(sa_type=LargeBinary)
    device: str = Field(max_length=42)
    window_id: int = Field(foreign_key="bridge_reading_window.id", sa_type=_ID)
    reading_ids: list[int] = Field(sa_type=JSON)
    # The rule engine's decision per reading (a data gap's previous reading: its own, NONE).
    decisions: list[int] = Field(sa_type=JSON)
    status: SubmissionStatus = Field(default=SubmissionStatus.PENDING, max_length=16)
    created_at: float
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    # Confirmed by the chain's compliance state rather than by a receipt of ours.
    resolved_from_chain: bool = False
    error: str | None = None


class DeviceComplianceState(SQLModel, table=True):
    """Per (batch, device): the rule engine's state after the last windowed reading."""

    __tablename__ = "bridge_device_compliance_state"

    batch_id: bytes = Field(sa_type=LargeBinary, primary_key=True)
    device: str = Field(max_length=42, primary_key=True)
    last_seq: int = Field(default=0, sa_type=BigInteger)
    last_timestamp: int = Field(default=0, sa_type=BigInteger)
    in_excursion: bool = False
    excursion_start: int = Field(default=0, sa_type=BigInteger)
    # The highest seq put in a ComplianceSubmission (0: none).
    last_submitted_seq: int = Field(default=0, sa_type=BigInteger)
    # Why the rule engine stopped for this pair (a precondition the chain would refuse).
    halted_reason: str | None = None

    @property
    def engine_state(self) -> ComplianceState:
        return ComplianceState.of(self)

    def advance(self, state: ComplianceState) -> None:
        self.last_seq = state.last_seq
        self.last_timestamp = state.last_timestamp
        self.in_excursion = state.in_excursion
        self.excursion_start = state.excursion_start


class DeadLetter(SQLModel, table=True):
    """A rejected message, kept verbatim with why it was rejected (`reason` and `source` as
    `storable_text`: whatever the message held, its dead letter can be written)."""

    __tablename__ = "bridge_dead_letter"

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    received_at: float
    source: str
    payload: bytes = Field(sa_type=LargeBinary)
    reason_code: str = Field(max_length=40)
    reason: str
    device: str | None = Field(default=None, max_length=42)
    seq: int | None = Field(default=None, sa_type=BigInteger)


class SubmitterLease(SQLModel, table=True):
    """Which bridge instance anchors and submits for this database, until when."""

    __tablename__ = "bridge_submitter_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=200)
    expires_at: float


BRIDGE_TABLES = [
    SQLModel.metadata.tables[model.__tablename__]
    for model in (
        ReadingWindow,
        InboxReading,
        ComplianceSubmission,
        DeviceComplianceState,
        DeadLetter,
        SubmitterLease,
    )
]


# Indexes earlier versions made that no query uses any more (each costs every insert).
_RETIRED_INDEXES = ("ix_bridge_inbox_unwindowed",)


def create_bridge_tables(engine: Engine) -> None:
    """Create the bridge's tables and indexes that do not exist yet (a database made by an
    earlier version gets its new indexes too), and drop the retired ones."""
    with schema_change(engine) as connection:
        SQLModel.metadata.create_all(connection, tables=BRIDGE_TABLES)
        for table in BRIDGE_TABLES:
            for index in table.indexes:
                index.create(connection, checkfirst=True)
        for name in _RETIRED_INDEXES:
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))


@contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """One write transaction (SQLite: `BEGIN IMMEDIATE`), committed when the block ends."""
    with Session(for_writing(engine), expire_on_commit=False) as session, session.begin():
        yield session


def reading_session(engine: Engine) -> Session:
    """A session for reads only."""
    return Session(engine, expire_on_commit=False)
