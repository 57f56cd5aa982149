"""The bridge's front door: verify raw signed readings and store them durably, or dead-letter them.

Ingress adapters (MQTT, HTTP, the CLI) call `Ingestor.accept_many` (or `accept` for one) and
acknowledge their senders only after it returned. The checks run cheapest first — size, JSON,
signature, clock (`screening`), device policy, sequence — and every rejection is kept verbatim
in the dead letters. A batch is screened first (in worker processes when it is large and the
ingestor has them), then judged against the policy, then written in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from typing import Literal, NamedTuple

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Dialect,
    Engine,
    bindparam,
    insert,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.exc import IntegrityError

from ledger_client.indexer.database import for_writing
from oracle_bridge.errors import DeviceRefused
from oracle_bridge.policy import DevicePolicy
from oracle_bridge.readings import ReadingDomain
from oracle_bridge.screening import SIGNATURE_MISMATCH, Refusal, Screened, screen_all
from oracle_bridge.store import MAX_STORED_INT, DeadLetter, InboxReading

__all__ = ["SIGNATURE_MISMATCH", "IngestResult", "Ingestor"]

# Core statements built once: the ORM's per-call overhead is ~10x the SQLite work here.
_INBOX = InboxReading.__table__  # type: ignore[attr-defined]
_HEAD_COLUMNS = (_INBOX.c.device, _INBOX.c.seq, _INBOX.c.batch_id, _INBOX.c.timestamp)
_INSERT_READING = insert(_INBOX)
_INSERT_DEAD_LETTER = insert(DeadLetter.__table__)  # type: ignore[attr-defined]
_LOCK_DEVICES = text(
    "SELECT pg_advisory_xact_lock(key) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS key"
    " ORDER BY key) AS keys"
)
# Devices per look-up statement (SQLite allows 500 terms in one compound SELECT).
_DEVICES_PER_LOOKUP = 200
# (device, seq) pairs per look-up statement, well under SQLite's bound-parameter limit.
_PAIRS_PER_LOOKUP = 400
# Below this many readings a batch is screened in this process: a worker round trip costs more.
_POOL_MIN_BATCH = 64


@dataclass(frozen=True)
class IngestResult:
    """What became of one raw reading. `reason` is set when rejected; `device` and `seq`
    once the payload parsed."""

    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    device: str | None = None
    seq: int | None = None


class _Head(NamedTuple):
    """A device's highest accepted reading."""

    seq: int
    batch_id: bytes
    timestamp: int


class Ingestor:
    """Verifies signed readings against one ColdChainCompliance domain and stores them.

    Thread-safe: concurrent calls serialize per device in the database. With
    `screening_workers`, large batches are screened in that many worker processes (the
    signature recovery is CPU-bound and holds the GIL); `close()` ends them.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        domain: ReadingDomain,
        policy: DevicePolicy,
        max_message_bytes: int = 4096,
        max_future_skew_s: int = 300,
        screening_workers: int = 0,
        clock: Callable[[], float] = time.time,
        on_stored: Callable[[Sequence[Screened]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.domain = domain
        self.policy = policy
        self.max_message_bytes = max_message_bytes
        self.max_future_skew_s = max_future_skew_s
        self._clock = clock
        self._on_stored = on_stored
        self._writer = for_writing(engine)
        self._postgres = engine.dialect.name == "postgresql"
        self._workers = screening_workers
        self._pool: ProcessPoolExecutor | None = None
        if screening_workers > 0:
            # Spawned, not forked: the bridge's threads may hold locks at any instant.
            self._pool = ProcessPoolExecutor(screening_workers, mp_context=get_context("spawn"))
            # Start them now, not when the first large batch would wait for them.
            for _ in range(screening_workers):
                self._pool.submit(int)

    def close(self) -> None:
        """End the screening worker processes (if any)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def accept(self, raw: bytes, *, source: str) -> IngestResult:
        """Verify `raw` (one signed reading as JSON) and store it in the inbox.

        Returns once the reading is committed to the inbox ("accepted"), was already there
        with the same content ("duplicate": an at-least-once redelivery, to acknowledge
        again), or is committed to the dead letters ("rejected", with the reason).

        Raises:
            ChainUnavailable: the device's registration is unknown and the chain cannot be
                asked; nothing was stored, the sender should retry later.
            sqlalchemy.exc.SQLAlchemyError: the database failed; nothing was stored.
        """
        return self.accept_many([raw], source=source)[0]

    def accept_many(
        self, raws: Sequence[bytes], *, source: str | Sequence[str]
    ) -> list[IngestResult]:
        """`accept` for a batch, in one transaction: one result per raw reading, in order,
        each exactly what `accept` would have returned for it at that point of the batch.

        `source` names where the readings came from: one for all, or one per reading.

        Raises:
            ChainUnavailable: a device's registration is unknown and the chain cannot be
                asked; nothing of the batch was stored, the sender should retry it later.
            sqlalchemy.exc.SQLAlchemyError: the database failed; nothing was stored.
        """
        sources = [source] * len(raws) if isinstance(source, str) else list(source)
        if len(sources) != len(raws):
            raise ValueError(f"{len(sources)} sources for {len(raws)} readings")
        if not raws:
            return []
        received_at = self._clock()
        judged = self._judge(self._screen(raws, now=received_at))
        try:
            results, stored = self._store(raws, sources, judged, received_at)
        except IntegrityError:
            # Another process stored a (device, seq) of the batch first: decide against its row.
            results, stored = self._store(raws, sources, judged, received_at)
        if stored and self._on_stored is not None:
            self._on_stored(stored)
        return results

    def _screen(self, raws: Sequence[bytes], *, now: float) -> list[Screened | Refusal]:
        options = {
            "domain": self.domain,
            "now": now,
            "max_message_bytes": self.max_message_bytes,
            "max_future_skew_s": self.max_future_skew_s,
        }
        if self._pool is None or len(raws) < _POOL_MIN_BATCH:
            return screen_all(raws, **options)  # type: ignore[arg-type]
        size = -(-len(raws) // self._workers)
        tasks = [
            self._pool.submit(screen_all, raws[start : start + size], **options)
            for start in range(0, len(raws), size)
        ]
        return [item for task in tasks for item in task.result()]

    def _judge(self, screened: list[Screened | Refusal]) -> list[Screened | Refusal]:
        """Refuse the readings of devices the policy refuses (asked once per device and batch)."""
        verdicts: dict[tuple[str, bytes], Refusal | None] = {}
        judged: list[Screened | Refusal] = []
        for item in screened:
            if isinstance(item, Screened):
                key = (item.device, item.batch_id)
                if key not in verdicts:
                    try:
                        self.policy.check(item.device, item.batch_id)
                        verdicts[key] = None
                    except DeviceRefused as exc:
                        verdicts[key] = Refusal(exc.code, exc.reason)
                refusal = verdicts[key]
                if refusal is not None:
                    item = Refusal(refusal.code, refusal.reason, item.device, item.seq)
            judged.append(item)
        return judged

    def _store(
        self,
        raws: Sequence[bytes],
        sources: Sequence[str],
        judged: Sequence[Screened | Refusal],
        received_at: float,
    ) -> tuple[list[IngestResult], list[Screened]]:
        """Decide each screened reading's sequence against the inbox and the batch before it,
        then write the accepted readings and every dead letter; (results, accepted)."""
        results: list[IngestResult] = []
        rows: list[tuple[object, ...]] = []
        letters: list[dict] = []
        accepted: list[Screened] = []
        with self._writer.begin() as connection:
            devices = sorted({item.device for item in judged if isinstance(item, Screened)})
            if self._postgres and devices:
                # SQLite's BEGIN IMMEDIATE already serializes writers.
                keys = sorted(
                    {int.from_bytes(bytes.fromhex(d[2:18]), "big", signed=True) for d in devices}
                )
                connection.execute(_LOCK_DEVICES, {"keys": keys})
            heads = _heads(connection, devices)
            digests = _digests(
                connection,
                {
                    (item.device, item.seq)
                    for item in judged
                    if isinstance(item, Screened)
                    and item.device in heads
                    and item.seq <= heads[item.device].seq
                },
            )
            for raw, source, item in zip(raws, sources, judged, strict=True):
                if isinstance(item, Screened):
                    verdict = _sequence_verdict(item, heads.get(item.device), digests)
                    if verdict == "accepted":
                        heads[item.device] = _Head(item.seq, item.batch_id, item.timestamp)
                        digests[(item.device, item.seq)] = item.digest
                        rows.append(_inbox_row(item, received_at, source))
                        accepted.append(item)
                        results.append(IngestResult("accepted", None, item.device, item.seq))
                        continue
                    if verdict == "duplicate":
                        results.append(IngestResult("duplicate", None, item.device, item.seq))
                        continue
                    item = verdict
                letters.append(self._dead_letter(raw, source, received_at, item))
                results.append(IngestResult("rejected", item.reason, item.device, item.seq))
            if rows:
                _insert_readings(connection, rows)
            if letters:
                connection.execute(_INSERT_DEAD_LETTER, letters)
        return results, accepted

    def _dead_letter(
        self, raw: bytes, source: str, received_at: float, refusal: Refusal
    ) -> dict[str, object]:
        seq = refusal.seq
        return {
            "received_at": received_at,
            "source": source,
            # An oversized payload is kept up to the size limit only.
            "payload": raw[: self.max_message_bytes],
            "reason_code": refusal.code,
            "reason": refusal.reason,
            "device": refusal.device,
            "seq": seq if seq is not None and seq <= MAX_STORED_INT else None,
        }


def _sequence_verdict(
    item: Screened, head: _Head | None, digests: dict[tuple[str, int], bytes]
) -> Literal["accepted", "duplicate"] | Refusal:
    """Whether `item` may follow its device's highest accepted reading `head`, is the same
    reading again (a redelivery), or why it is refused; `digests` has the (device, seq)
    pairs up to `head` that exist."""
    if head is None or head.seq < item.seq:
        if head is not None and head.batch_id == item.batch_id and item.timestamp < head.timestamp:
            # The contract would refuse it (TimestampRegression) and stall the state.
            return Refusal(
                "timestamp_regression",
                "timestamp before the device's previous reading",
                item.device,
                item.seq,
            )
        return "accepted"
    stored = digests.get((item.device, item.seq))
    if stored is None:
        return Refusal("lower_seq", "lower seq than already accepted", item.device, item.seq)
    if stored == item.digest:
        return "duplicate"
    return Refusal("replayed_seq", "replayed seq with different content", item.device, item.seq)


def _heads(connection: Connection, devices: Sequence[str]) -> dict[str, _Head]:
    """Each device's highest accepted reading (devices without one are left out): one
    index look-up per device, all in one statement."""
    heads: dict[str, _Head] = {}
    for start in range(0, len(devices), _DEVICES_PER_LOOKUP):
        chunk = devices[start : start + _DEVICES_PER_LOOKUP]
        parameters = {f"device_{n}": device for n, device in enumerate(chunk)}
        for row in connection.execute(_heads_statement(len(chunk)), parameters):
            heads[row.device] = _Head(row.seq, row.batch_id, row.timestamp)
    return heads


# Cached per device count: building the statement anew costs ~30x executing it.
@lru_cache(maxsize=_DEVICES_PER_LOOKUP)
def _heads_statement(count: int) -> CompoundSelect:
    latest = [
        select(*_HEAD_COLUMNS)
        .where(_INBOX.c.device == bindparam(f"device_{n}"))
        .order_by(_INBOX.c.seq.desc())
        .limit(1)
        .subquery()
        for n in range(count)
    ]
    return union_all(*(select(*query.c) for query in latest))


def _digests(connection: Connection, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
    """The stored digests of the (device, seq) pairs the inbox holds."""
    found: dict[tuple[str, int], bytes] = {}
    ordered = sorted(pairs)
    for start in range(0, len(ordered), _PAIRS_PER_LOOKUP):
        chunk = ordered[start : start + _PAIRS_PER_LOOKUP]
        statement = select(_INBOX.c.device, _INBOX.c.seq, _INBOX.c.digest).where(
            tuple_(_INBOX.c.device, _INBOX.c.seq).in_(bindparam("pairs", expanding=True))
        )
        for row in connection.execute(statement, {"pairs": chunk}):
            found[(row.device, row.seq)] = row.digest
    return found


def _insert_readings(connection: Connection, rows: list[tuple[object, ...]]) -> None:
    """Insert inbox rows (`_INBOX_ROW_KEYS` order) with the driver's own executemany:
    SQLAlchemy's per-row parameter handling costs about half as much as SQLite's insert."""
    sql, order = _insert_statement(connection.dialect)
    if order is None:
        named = [dict(zip(_INBOX_ROW_KEYS, row, strict=True)) for row in rows]
        connection.exec_driver_sql(sql, named)  # type: ignore[arg-type]
    elif order == _INBOX_ROW_KEYS:
        connection.exec_driver_sql(sql, rows)  # type: ignore[arg-type]
    else:
        positions = [_INBOX_ROW_KEYS.index(key) for key in order]
        ordered = [tuple(row[i] for i in positions) for row in rows]
        connection.exec_driver_sql(sql, ordered)  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def _insert_statement(dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The inbox insert in the driver's parameter style; the parameter order if positional."""
    compiled = _INSERT_READING.compile(dialect=dialect, column_keys=list(_INBOX_ROW_KEYS))
    return compiled.string, tuple(compiled.positiontup or ()) if compiled.positional else None


# A `Screened` reading's fields are the inbox row's first columns.
_INBOX_ROW_KEYS = (*Screened._fields, "received_at", "source")


def _inbox_row(item: Screened, received_at: float, source: str) -> tuple[object, ...]:
    """`item`'s inbox row, in `_INBOX_ROW_KEYS` order."""
    return (*item, received_at, source)
