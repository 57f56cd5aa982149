"""The bridge's front door: verify raw signed readings and store them durably, or dead-letter them.

Ingress adapters (MQTT, HTTP, the CLI) call `Ingestor.accept_many` (or `accept` for one) and
acknowledge their senders only after it returned. The checks run cheapest first — size, JSON,
signature, clock (`screening`), device policy, sequence — and every rejection is kept verbatim
in the dead letters. A batch is screened first (in worker processes when it is large and the
ingestor has them), then judged against the policy, then written in one transaction.

A refusal is never a failure: whatever the input held, its dead letter can be written (its
reason is made `storable_text`). Only the database failing is, and it is reported as
`StoreUnavailable` (the sender retries later) and as the bridge's "store" condition until
the next batch is stored. The chain refusing the device policy's reads (`ChainRejected`: a
revert, a JSON-RPC error) is no outage either: it is raised as itself, and reported as the
"chain_refused" condition until the next batch is judged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Engine,
    bindparam,
    insert,
    select,
    text,
    tuple_,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ledger_client.db import (
    LOOKUPS_PER_UNION,
    for_writing,
    table_of,
    union_lookup_rows,
    union_of_lookups,
)
from ledger_client.errors import ChainRejected
from oracle_bridge.conditions import Conditions
from oracle_bridge.errors import StoreUnavailable
from oracle_bridge.native import HotPath, PythonHotPath
from oracle_bridge.policy import DevicePolicy
from oracle_bridge.readings import ReadingDomain
from oracle_bridge.screening import (
    SIGNATURE_MISMATCH,
    Refusal,
    Screened,
    ScreenOptions,
    from_plain,
    screen_all,
    screen_all_plain,
)
from oracle_bridge.store import MAX_STORED_INT, DeadLetter, InboxReading, storable_text

__all__ = [
    "CHAIN_REFUSED_CONDITION",
    "INGEST_FAILED",
    "SIGNATURE_MISMATCH",
    "STORE_CONDITION",
    "IngestResult",
    "Ingestor",
]

# The bridge's condition (`Conditions`) while ingest cannot write to its database.
STORE_CONDITION = "store"
# The bridge's condition while the chain refuses the device policy's reads (a deployment
# record or node credentials that are not right): not an outage, nothing is judged.
CHAIN_REFUSED_CONDITION = "chain_refused"
# Reason code of a message an ingress adapter gave up on (`Ingestor.dead_letter`).
INGEST_FAILED = "ingest_failed"
# Failures of the database itself, not of what was written: the sender retries later.
_STORE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
# The hot path of an ingestor not given one: the pure-Python reference (stateless).
REFERENCE = PythonHotPath()

# Core statements built once: the ORM's per-call overhead is ~10x the SQLite work here.
_INBOX = table_of(InboxReading)
_HEAD_COLUMNS = (_INBOX.c.device, _INBOX.c.seq, _INBOX.c.batch_id, _INBOX.c.timestamp)
_INSERT_READING = insert(_INBOX)
_DIGESTS_OF = select(_INBOX.c.device, _INBOX.c.seq, _INBOX.c.digest).where(
    tuple_(_INBOX.c.device, _INBOX.c.seq).in_(bindparam("pairs", expanding=True))
)
_INSERT_DEAD_LETTER = insert(table_of(DeadLetter))
_LOCK_DEVICES = text(
    "SELECT pg_advisory_xact_lock(key) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS key"
    " ORDER BY key) AS keys"
)
# (device, seq) pairs per look-up statement, well under SQLite's bound-parameter limit.
_PAIRS_PER_LOOKUP = 400
# Below this many readings a batch is screened in this process: a worker round trip costs more.
_POOL_MIN_BATCH = 64
# Readings per worker task: batch verification's cost per signature falls with the batch
# (~2.5x below one recovery each at 250, ~3.5x at 1,000), so a batch of 500 goes to one
# worker whole and concurrent batches keep the workers busy.
_WORKER_TASK = 500
# Rows per multi-row INSERT on SQLite: 990 parameters, under every SQLite's limit (999).
_ROWS_PER_SQLITE_INSERT = 99


class IngestResult(NamedTuple):
    """What became of one raw reading. `reason` is set when rejected; `device` and `seq`
    once the payload parsed. (A named tuple: one is made per reading, at half a frozen
    dataclass's cost.)"""

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

    Thread-safe: concurrent calls serialize per device in the database, and screen their
    batches in parallel (the C screen releases the GIL). Where `hot_path` screens in Python
    (the reference), large batches go to `pool`'s worker processes if one is given. A write
    that fails raises the "store" condition in `health` (if given); the next one that
    succeeds clears it. Likewise a policy read the chain refuses, "chain_refused".
    """

    def __init__(
        self,
        *,
        engine: Engine,
        domain: ReadingDomain,
        policy: DevicePolicy,
        max_message_bytes: int = 4096,
        max_future_skew_s: int = 300,
        pool: Executor | None = None,
        clock: Callable[[], float] = time.time,
        on_stored: Callable[[Sequence[Screened]], None] | None = None,
        health: Conditions | None = None,
        hot_path: HotPath = REFERENCE,
    ) -> None:
        self.engine = engine
        self.domain = domain
        self.policy = policy
        self.max_message_bytes = max_message_bytes
        self.max_future_skew_s = max_future_skew_s
        self._clock = clock
        self._on_stored = on_stored
        self._health = health
        self._writer = for_writing(engine)
        # Only where screening runs in Python: in C it releases the GIL and stays in the
        # calling thread (see `oracle_bridge.workers`).
        self._hot_path = hot_path
        self._pool = None if hot_path.releases_gil else pool

    def accept(self, raw: bytes, *, source: str) -> IngestResult:
        """Verify `raw` (one signed reading as JSON) and store it in the inbox.

        Returns once the reading is committed to the inbox ("accepted"), was already there
        with the same content ("duplicate": an at-least-once redelivery, to acknowledge
        again), or is committed to the dead letters ("rejected", with the reason).

        Raises:
            ChainUnavailable: the device's registration is unknown and the chain cannot be
                asked; nothing was stored, the sender should retry later.
            StoreUnavailable: the database failed; nothing was stored, retry later.
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
            ChainRejected: the chain refused the policy's read (the bridge's deployment
                record or node credentials are wrong); nothing was stored.
            StoreUnavailable: the database failed; nothing was stored, retry it later.
            Anything else is a fault of the bridge (nothing was stored either): retrying
                the same batch would most likely fail again.
        """
        sources = _storable_sources(source, len(raws))
        if len(sources) != len(raws):
            raise ValueError(f"{len(sources)} sources for {len(raws)} readings")
        if not raws:
            return []
        received_at = self._clock()
        judged = self._judge(self._screen(raws, now=received_at))
        with self._store_watch():
            try:
                results, stored = self._store(raws, sources, judged, received_at)
            except IntegrityError:
                # Another process stored a (device, seq) of the batch first: decide against
                # its row.
                results, stored = self._store(raws, sources, judged, received_at)
        if stored and self._on_stored is not None:
            self._on_stored(stored)
        return results

    def dead_letter(self, raw: bytes, *, source: str, reason: str) -> None:
        """Keep `raw` as a dead letter (code `ingest_failed`, with `reason`) without judging
        it: for a message an ingress adapter gives up on, after ingesting it failed again
        and again for a reason other than the store's.

        Raises:
            StoreUnavailable: the database failed; nothing was stored.
        """
        letter = self._letter(
            raw, storable_text(source), self._clock(), Refusal(INGEST_FAILED, reason)
        )
        with self._store_watch(), self._writer.begin() as connection:
            connection.execute(_INSERT_DEAD_LETTER, [letter])

    @contextmanager
    def _store_watch(self) -> Iterator[None]:
        """Report a failed write as the "store" condition (a database failure as
        `StoreUnavailable`), and clear the condition once a write succeeds."""
        try:
            yield
        except Exception as exc:
            problem = _first_line(exc)
            if self._health is not None:
                self._health.raise_(STORE_CONDITION, f"ingest could not write: {problem}")
            if isinstance(exc, _STORE_DOWN) or (
                isinstance(exc, DBAPIError) and exc.connection_invalidated
            ):
                raise StoreUnavailable(
                    f"the bridge database could not store the readings ({problem}); "
                    "nothing was stored, retry later"
                ) from exc
            raise
        if self._health is not None:
            self._health.clear(STORE_CONDITION)

    def _screen(self, raws: Sequence[bytes], *, now: float) -> list[Screened | Refusal]:
        options: ScreenOptions = {
            "domain": self.domain,
            "now": now,
            "max_message_bytes": self.max_message_bytes,
            "max_future_skew_s": self.max_future_skew_s,
        }
        if self._pool is None or len(raws) < _POOL_MIN_BATCH:
            return screen_all(raws, hot_path=self._hot_path, **options)
        tasks = [
            self._pool.submit(
                screen_all_plain,
                raws[start : start + _WORKER_TASK],
                hot_path=self._hot_path,
                **options,
            )
            for start in range(0, len(raws), _WORKER_TASK)
        ]
        return [from_plain(item) for task in tasks for item in task.result()]

    def _judge(self, screened: list[Screened | Refusal]) -> list[Screened | Refusal]:
        """Refuse the readings of devices the policy refuses (asked once for the batch)."""
        pairs = {(item.device, item.batch_id) for item in screened if isinstance(item, Screened)}
        try:
            verdicts = self.policy.check_many(pairs)
        except ChainRejected as exc:
            if self._health is not None:
                self._health.raise_(
                    CHAIN_REFUSED_CONDITION,
                    f"the chain refused the device policy's read: {_first_line(exc)}",
                )
            raise
        if self._health is not None:
            self._health.clear(CHAIN_REFUSED_CONDITION)
        if all(verdict is None for verdict in verdicts.values()):
            return screened  # every device may report: nothing to change item by item
        judged: list[Screened | Refusal] = []
        for item in screened:
            if isinstance(item, Screened):
                refusal = verdicts[(item.device, item.batch_id)]
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
            lock_devices(connection, devices)
            heads = _heads(connection, devices)
            late = _LateReadings(connection, accepted)
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
                    verdict = _sequence_verdict(item, heads.get(item.device), digests, late)
                    if verdict == "accepted":
                        head = heads.get(item.device)
                        if head is None or head.seq < item.seq:
                            heads[item.device] = _Head(item.seq, item.batch_id, item.timestamp)
                        rows.append(_inbox_row(item, received_at, source))
                        accepted.append(item)
                        results.append(IngestResult("accepted", None, item.device, item.seq))
                        continue
                    if verdict == "duplicate":
                        results.append(IngestResult("duplicate", None, item.device, item.seq))
                        continue
                    item = verdict
                letter = self._letter(raw, source, received_at, item)
                letters.append(letter)
                results.append(IngestResult("rejected", letter["reason"], item.device, item.seq))
            if rows:
                _insert_readings(connection, rows)
            if letters:
                connection.execute(_INSERT_DEAD_LETTER, letters)
        return results, accepted

    def _letter(
        self, raw: bytes, source: str, received_at: float, refusal: Refusal
    ) -> dict[str, Any]:
        """The dead letter row of `raw` (from a `storable_text` source): its reason escaped
        where the database could not store it (it may quote a lone surrogate or NUL)."""
        seq = refusal.seq
        return {
            "received_at": received_at,
            "source": source,
            # An oversized payload is kept up to the size limit only.
            "payload": raw[: self.max_message_bytes],
            "reason_code": refusal.code,
            "reason": storable_text(refusal.reason),
            "device": refusal.device,
            "seq": seq if seq is not None and seq <= MAX_STORED_INT else None,
        }


def _storable_sources(source: str | Sequence[str], count: int) -> list[str]:
    """One source per reading (`source` is one for all or one each), as `storable_text`."""
    if isinstance(source, str):
        return [storable_text(source)] * count
    storable = {name: storable_text(name) for name in set(source)}
    return [storable[name] for name in source]


def _first_line(exc: BaseException) -> str:
    """What went wrong, in one line (a database error's message spans several)."""
    text = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
    return text.strip().splitlines()[0]


def _sequence_verdict(
    item: Screened,
    head: _Head | None,
    digests: dict[tuple[str, int], bytes],
    late: _LateReadings,
) -> Literal["accepted", "duplicate"] | Refusal:
    """Whether `item` may follow its device's highest accepted reading `head`, is the same
    reading again (a redelivery), or why it is refused; `digests` has the (device, seq)
    pairs up to `head` that exist."""
    if head is None or head.seq < item.seq:
        if head is not None and head.batch_id == item.batch_id and item.timestamp < head.timestamp:
            return _timestamp_regression(item, "timestamp before the device's previous reading")
        return "accepted"
    stored = digests.get((item.device, item.seq)) or late.digest(item.device, item.seq)
    if stored is None:
        return late.verdict(item)
    if stored == item.digest:
        return "duplicate"
    return Refusal("replayed_seq", "replayed seq with different content", item.device, item.seq)


def _timestamp_regression(item: Screened, reason: str) -> Refusal:
    # The contract would refuse it (TimestampRegression) and stall the state.
    return Refusal("timestamp_regression", reason, item.device, item.seq)


class _LateReadings:
    """Judges readings that arrive after a higher seq of their device: delivered out of
    order (two bridge instances on one shared subscription, a gateway's retry), they are
    accepted while no window has taken a seq at or above theirs (the window closer waits
    for a missing seq up to the window age) and their timestamp fits between their stored
    neighbours. Rare, so looked up one at a time."""

    def __init__(self, connection: Connection, accepted: list[Screened]) -> None:
        self._connection = connection
        self._sealed: dict[str, int] = {}
        # Readings accepted earlier in this transaction, not yet in the inbox table: the
        # batch's list, indexed by (device, seq) only when a reading needs it (rare).
        self._accepted = accepted
        self._by_key: dict[tuple[str, int], Screened] = {}
        self._indexed = 0

    def _earlier(self, device: str, seq: int) -> Screened | None:
        for item in self._accepted[self._indexed :]:
            self._by_key[(item.device, item.seq)] = item
        self._indexed = len(self._accepted)
        return self._by_key.get((device, seq))

    def digest(self, device: str, seq: int) -> bytes | None:
        """The digest of the reading accepted earlier in this batch at (device, seq)."""
        earlier = self._earlier(device, seq)
        return None if earlier is None else earlier.digest

    def verdict(self, item: Screened) -> Literal["accepted"] | Refusal:
        if item.device not in self._sealed:
            sealed = self._connection.execute(_SEALED_SEQ, {"device": item.device}).scalar()
            self._sealed[item.device] = sealed or 0
        if item.seq <= self._sealed[item.device]:
            return Refusal(
                "lower_seq",
                "lower seq than a reading already anchored in a window",
                item.device,
                item.seq,
            )
        neighbours = [
            (earlier.seq, earlier.timestamp)
            for earlier in self._accepted
            if earlier.device == item.device and earlier.batch_id == item.batch_id
        ]
        for query in (_PREVIOUS_READING, _NEXT_READING):
            row = self._connection.execute(
                query, {"device": item.device, "seq": item.seq, "batch_id": item.batch_id}
            ).first()
            if row is not None:
                neighbours.append((row.seq, row.timestamp))
        if any(
            (seq < item.seq and timestamp > item.timestamp)
            or (seq > item.seq and timestamp < item.timestamp)
            for seq, timestamp in neighbours
        ):
            return _timestamp_regression(
                item, "timestamp out of order with the device's neighbouring readings"
            )
        return "accepted"


# The device's highest seq a window holds: walks its index back over the pending few.
_SEALED_SEQ = (
    select(_INBOX.c.seq)
    .where(_INBOX.c.device == bindparam("device"), _INBOX.c.window_id.is_not(None))
    .order_by(_INBOX.c.seq.desc())
    .limit(1)
)
_PREVIOUS_READING = (
    select(_INBOX.c.seq, _INBOX.c.timestamp)
    .where(
        _INBOX.c.device == bindparam("device"),
        _INBOX.c.batch_id == bindparam("batch_id"),
        _INBOX.c.seq < bindparam("seq"),
    )
    .order_by(_INBOX.c.seq.desc())
    .limit(1)
)
_NEXT_READING = (
    select(_INBOX.c.seq, _INBOX.c.timestamp)
    .where(
        _INBOX.c.device == bindparam("device"),
        _INBOX.c.batch_id == bindparam("batch_id"),
        _INBOX.c.seq > bindparam("seq"),
    )
    .order_by(_INBOX.c.seq)
    .limit(1)
)


def lock_devices(connection: Connection, devices: Sequence[str]) -> None:
    """Serialize this transaction with every other that writes these devices' inbox rows
    (ingest, the window closer). PostgreSQL only: SQLite's BEGIN IMMEDIATE already
    serializes writers."""
    if connection.dialect.name != "postgresql" or not devices:
        return
    keys = sorted({int.from_bytes(bytes.fromhex(d[2:18]), "big", signed=True) for d in devices})
    connection.execute(_LOCK_DEVICES, {"keys": keys})


def _heads(connection: Connection, devices: Sequence[str]) -> dict[str, _Head]:
    """Each device's highest accepted reading (devices without one are left out): one
    index look-up per device, all in one statement."""
    heads: dict[str, _Head] = {}
    lookups = [{"device": device} for device in devices]
    for device, seq, batch_id, timestamp in union_lookup_rows(
        connection, _heads_statement, lookups
    ):
        heads[device] = _Head(seq, batch_id, timestamp)
    return heads


# Cached per device count: building the statement anew costs ~30x executing it.
@lru_cache(maxsize=LOOKUPS_PER_UNION)
def _heads_statement(count: int) -> CompoundSelect:
    return union_of_lookups(
        lambda n: (
            select(*_HEAD_COLUMNS)
            .where(_INBOX.c.device == bindparam(f"device_{n}"))
            .order_by(_INBOX.c.seq.desc())
            .limit(1)
        ),
        count,
    )


def _digests(connection: Connection, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
    """The stored digests of the (device, seq) pairs the inbox holds."""
    found: dict[tuple[str, int], bytes] = {}
    ordered = sorted(pairs)
    for start in range(0, len(ordered), _PAIRS_PER_LOOKUP):
        chunk = ordered[start : start + _PAIRS_PER_LOOKUP]
        for row in connection.execute(_DIGESTS_OF, {"pairs": chunk}):
            found[(row.device, row.seq)] = row.digest
    return found


def _insert_readings(connection: Connection, rows: list[tuple[object, ...]]) -> None:
    """Insert inbox rows (`_INBOX_ROW_KEYS` order). On SQLite, as multi-row INSERTs through
    the driver: an executemany releases and retakes the GIL around every row, which stalls
    for a whole switch interval per row while another thread of the bridge computes."""
    if connection.dialect.name != "sqlite":
        named = [dict(zip(_INBOX_ROW_KEYS, row, strict=True)) for row in rows]
        connection.execute(_INSERT_READING, named)
        return
    for start in range(0, len(rows), _ROWS_PER_SQLITE_INSERT):
        chunk = rows[start : start + _ROWS_PER_SQLITE_INSERT]
        connection.exec_driver_sql(_sqlite_insert(len(chunk)), tuple(chain.from_iterable(chunk)))


@lru_cache(maxsize=8)
def _sqlite_insert(count: int) -> str:
    """INSERT of `count` inbox rows, positional parameters."""
    columns = ", ".join(_INBOX_ROW_KEYS)
    row = "(" + ", ".join("?" * len(_INBOX_ROW_KEYS)) + ")"
    return f"INSERT INTO {_INBOX.name} ({columns}) VALUES " + ", ".join([row] * count)


# A `Screened` reading's fields are the inbox row's first columns.
_INBOX_ROW_KEYS = (*Screened._fields, "received_at", "source")


def _inbox_row(item: Screened, received_at: float, source: str) -> tuple[object, ...]:
    """`item`'s inbox row, in `_INBOX_ROW_KEYS` order."""
    return (*item, received_at, source)
