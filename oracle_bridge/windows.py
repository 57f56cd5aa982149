"""Anchoring windows: each (batch, device)'s inbox readings cut into contiguous windows.

A window closes when it holds `max_readings` readings, when its oldest reading waited
`max_age_s` (so a missing seq delays it at most that long: packing needs contiguous seqs,
so a gap starts a new window), when the next reading cannot be packed with it, at once
when a reading in it decides a quarantine, or when its device has gone quiet: no new
reading for `idle_s` while at least `idle_min_readings` contiguous ones wait (a burst, e.g. a
gateway's backlog, is anchored without waiting out the age; the minimum keeps the
transaction's fixed cost spread over enough readings). Closing runs the rule engine over
the window in seq order and, in one transaction for all the windows of a pass, writes each
window (the anchoring outbox), marks its readings, advances the compliance state and writes
the `submitReadings` outbox entries for the readings the contract must see.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal, TypedDict

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Engine,
    bindparam,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from ledger_client.indexer.database import (
    LOOKUPS_PER_UNION,
    driver_rows,
    for_writing,
    make_engine,
    union_lookup_rows,
    union_of_lookups,
)
from ledger_client.indexer.read_model import table_of
from oracle_bridge.errors import ChainUnavailable, NoRule, PackingError, RuleViolation
from oracle_bridge.ingest import lock_devices
from oracle_bridge.merkle import window_root
from oracle_bridge.native import hotpath
from oracle_bridge.packing import pack
from oracle_bridge.policy import RuleSource
from oracle_bridge.readings import READING_TYPE_HASH, Reading, SignedReading
from oracle_bridge.rules import ComplianceState, Decision, Rule, evaluate, readings_to_submit
from oracle_bridge.screening import Screened
from oracle_bridge.store import (
    BRIDGE_SQLITE_CACHE_MIB,
    ComplianceSubmission,
    DeviceComplianceState,
    InboxReading,
    ReadingWindow,
    reading_session,
)

log = logging.getLogger(__name__)
_INBOX = table_of(InboxReading)


@dataclass(frozen=True)
class WindowPlan:
    """The first `count` pending readings form the next window, packed as `packed`."""

    count: int
    packed: bytes


def plan_window(
    readings: Sequence[SignedReading],
    received_at: Sequence[float],
    *,
    now: float,
    max_readings: int,
    max_age_s: float,
    close_now: bool = False,
) -> WindowPlan | None:
    """The window to close now from a pair's pending readings (in seq order), or None.

    The window is the longest packable run of contiguous seqs from the first reading, at
    most `max_readings`; it closes when full, when the next reading cannot be packed with
    it, when its oldest reading was received `max_age_s` ago, or with `close_now` (a
    reading in it decides a quarantine).

    Raises:
        PackingError: the first reading cannot be packed at all.
    """
    if not readings:
        return None
    count = 1
    while (
        count < min(len(readings), max_readings)
        and readings[count].reading.seq == readings[count - 1].reading.seq + 1
    ):
        count += 1
    plain = [signed.reading for signed in readings[:count]]
    cut_by_packing = False
    try:
        packed = pack(plain)
    except PackingError as exc:
        if exc.index == 0:
            raise
        count, cut_by_packing = exc.index, True
        packed = pack(plain[:count])
    aged = now - min(received_at[:count]) >= max_age_s
    if close_now or count == max_readings or cut_by_packing or aged:
        return WindowPlan(count=count, packed=packed)
    return None


@dataclass(frozen=True)
class WindowEvaluation:
    """The rule engine's verdict on one window's readings."""

    state: ComplianceState
    # (seq, decision) of every reading the contract must see, in order.
    to_submit: list[tuple[int, Decision]]
    submitted_seq: int
    halted_reason: str | None = None


def evaluate_window(
    *,
    rule: Rule,
    state: ComplianceState,
    submitted_seq: int,
    readings: Sequence[SignedReading],
    previous: SignedReading | None,
) -> WindowEvaluation:
    """Run the rule engine over `readings` (seq order) from `state`.

    `submitted_seq` is the last seq already queued for the chain; `previous` the reading
    with seq `state.last_seq`, which a data gap at the first reading needs submitted too.
    A reading the contract would refuse (a precondition of RULES.md: a replayed or lower
    seq, a timestamp regression) halts evaluation there: `halted_reason` says why.
    """
    to_submit: list[tuple[int, Decision]] = []
    for signed in readings:
        try:
            new_state, decision = evaluate(rule=rule, state=state, reading=signed.reading)
        except RuleViolation as exc:
            return WindowEvaluation(state, to_submit, submitted_seq, halted_reason=str(exc))
        for chosen in readings_to_submit(
            state_before=state,
            decision=decision,
            reading=signed,
            previous=previous,
            submitted_seq=submitted_seq,
        ):
            seq = chosen.reading.seq
            to_submit.append((seq, decision if seq == signed.reading.seq else Decision.NONE))
            submitted_seq = seq
        state, previous = new_state, signed
    return WindowEvaluation(state, to_submit, submitted_seq)


@dataclass(frozen=True)
class ClosedWindow:
    window_id: int
    batch_id: bytes
    device: str
    first_seq: int
    last_seq: int
    submissions: int


class WindowCloser:
    """Closes due windows; safe to run next to ingestion.

    Each pass drafts the windows of every due (batch, device) pair outside any write
    transaction, then writes them all in one. Readings the ingestor reports through
    `notice` that may decide a quarantine get their window closed at the next pass, in a
    transaction of its own before the others, instead of when it is full or old.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        rules: RuleSource,
        max_readings: int = 1000,
        max_age_s: float = 5.0,
        submission_max_readings: int = 100,
        idle_s: float | None = None,
        idle_min_readings: int = 80,
        clock: Callable[[], float] = time.time,
        on_closed: Callable[[], None] | None = None,
        drafting: Executor | None = None,
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.max_readings = max_readings
        self.max_age_s = max_age_s
        # None: windows never close for their device's silence.
        self.idle_s = idle_s
        self.idle_min_readings = idle_min_readings
        self.submission_max_readings = submission_max_readings
        self._clock = clock
        self._on_closed = on_closed
        self._drafting = drafting
        self._lock = threading.Lock()
        self._watched: set[tuple[bytes, str]] = set()
        # (seq, timestamp) of the last reading noticed per pair: what a data gap is seen from.
        self._last_noticed: dict[tuple[bytes, str], tuple[int, int]] = {}
        self._next_due_at: float | None = None
        # The pending readings per pair as the inbox was last read, kept current with what was
        # noticed and taken since: a pass drafts the pairs these show due, and reads the
        # inbox again only every `_RESCAN_S` (or after a write gave way).
        self._pending: dict[tuple[bytes, str], _Pending] = {}
        self._scanned_at: float | None = None
        # How many readings the last window this closer wrote for each pair holds, and when.
        self._last_window: dict[tuple[bytes, str], tuple[int, float]] = {}
        # What is kept per pair outside the inbox is forgotten once the pair has been quiet
        # for `_FORGET_AFTER_S`, so memory follows the pairs active lately, not all ever seen.
        self._forgot_at = clock()

    def notice(self, stored: Sequence[Screened]) -> bool:
        """Note readings the ingestor just stored; True when one of them may decide a
        quarantine (out of the rule's range, or after a data gap), so the next pass should
        run now. Never raises: a pair whose rule cannot be read is left to the usual timing."""
        rules: dict[bytes, Rule | None] = {}
        urgent = False
        now = self._clock()
        with self._lock:
            for item in stored:
                pair, seq = (item.batch_id, item.device), item.seq
                pending = self._pending.get(pair)
                if pending is None:
                    self._pending[pair] = _Pending(1, now, now, seq, seq)
                else:  # inline: once per stored reading
                    pending.count += 1
                    pending.newest = now
                    if seq > pending.last:
                        pending.last = seq
                    elif seq < pending.first:
                        pending.first = seq
                if item.batch_id not in rules:
                    try:
                        rules[item.batch_id] = self.rules.rule(item.batch_id)
                    except (NoRule, ChainUnavailable):
                        rules[item.batch_id] = None
                rule = rules[item.batch_id]
                last = self._last_noticed.get(pair)
                if last is None or last[0] < item.seq:
                    self._last_noticed[pair] = (item.seq, item.timestamp)
                if rule is None:
                    continue
                gap = (
                    rule.max_data_gap_seconds > 0
                    and last is not None
                    and item.seq == last[0] + 1
                    and item.timestamp - last[1] > rule.max_data_gap_seconds
                )
                if gap or not rule.min_milli_c <= item.temp_milli_c <= rule.max_milli_c:
                    self._watched.add(pair)
                    urgent = True
        return urgent

    def close_due(self) -> list[ClosedWindow]:
        """Close every window that is due now, first those that may decide a quarantine;
        pairs whose rule cannot be read wait."""
        with self._lock:
            watched, self._watched = self._watched, set()
        closed = []
        if watched:
            closed += self._close(sorted(watched), watched=watched)
        now = self._clock()
        with self._lock:
            known = self._scanned_at is not None and now - self._scanned_at < _RESCAN_S
            if known:
                # What was read, noticed and taken since tells which pairs are due; drafting
                # reads their rows and closes only what those make due.
                due, idle = self._classify(self._pending, now)
        if not known:
            due, idle = self._due_pairs(now)
        for run in self._runs(due):
            closed += self._close(run, watched=set(), idle=idle.intersection(run))
        return closed

    def _runs(self, pairs: list[tuple[bytes, str]]) -> list[list[tuple[bytes, str]]]:
        """`pairs` cut into runs of about `_RUN_READINGS` pending readings, each drafted and
        written before the next: a backlog (a bridge restarted after a long stop) is read and
        written a run at a time, not all at once, and the submitter starts on the first."""
        with self._lock:
            sizes = [q.count if (q := self._pending.get(p)) else 0 for p in pairs]
        runs: list[list[tuple[bytes, str]]] = []
        run: list[tuple[bytes, str]] = []
        readings = 0
        for pair, size in zip(pairs, sizes, strict=True):
            run.append(pair)
            readings += size
            if readings >= _RUN_READINGS:
                runs.append(run)
                run, readings = [], 0
        return [*runs, run] if run else runs

    def _classify(
        self, pending: dict[tuple[bytes, str], _Pending], now: float
    ) -> tuple[list[tuple[bytes, str]], frozenset[tuple[bytes, str]]]:
        """The pairs of `pending` with a window due, and which of them only for being idle;
        notes when the next of the others comes of age (or goes idle). Call with the lock."""
        due, idle, next_due_at = [], set(), None
        for pair, readings in pending.items():
            last_window = self._last_window.get(pair, _NO_WINDOW)[0]
            by_size_or_age, by_silence = self._due_at(readings, last_window)
            due_at = min(by_size_or_age, by_silence)
            if due_at <= now:
                due.append(pair)
                if by_size_or_age > now:
                    idle.add(pair)
            elif next_due_at is None or due_at < next_due_at:
                next_due_at = due_at
        self._next_due_at = next_due_at
        return due, frozenset(idle)

    def _due_at(self, pending: _Pending, last_window: int) -> tuple[float, float]:
        """When a pair's window is due by size (full: at once) or age, and when by its
        device's silence (never, unless `_may_idle`), from its pending readings and the
        size of the last window written for it."""
        never = float("inf")
        full = pending.count >= self.max_readings
        by_size_or_age = -never if full else pending.oldest + self.max_age_s
        by_silence = never
        if self._may_idle(pending, last_window):
            assert self.idle_s is not None
            by_silence = pending.newest + self.idle_s
        return by_size_or_age, by_silence

    def _close(
        self,
        pairs: Sequence[tuple[bytes, str]],
        *,
        watched: set[tuple[bytes, str]],
        idle: frozenset[tuple[bytes, str]] = frozenset(),
    ) -> list[ClosedWindow]:
        rules: dict[bytes, Rule] = {}
        ready = []
        for batch_id, device in pairs:
            if batch_id not in rules:
                try:
                    rules[batch_id] = self.rules.rule(batch_id)
                except (NoRule, ChainUnavailable) as exc:
                    log.warning("windows of lot 0x%s wait: %s", batch_id.hex(), exc)
                    continue
            ready.append((batch_id, device))
        if not ready:
            return []
        drafts = self._draft(ready, rules, now=self._clock(), watched=watched, idle=idle)
        self._not_idle(idle - {(d.batch_id, d.device) for d in drafts})
        if not drafts:
            return []
        try:
            closed = self._write(drafts)
        except (_Conflict, IntegrityError):
            # Another closer took some of these readings first; the next pass starts afresh.
            log.info("windows of %d pair(s) were closed concurrently", len(drafts))
            with self._lock:
                self._scanned_at = None
            return []
        self._taken(drafts)
        if self._on_closed is not None:
            self._on_closed()
        return closed

    def _taken(self, drafts: Sequence[_PairDraft]) -> None:
        """Note what the written windows took from their pairs' pending readings, so the
        next pass need not read the inbox to know (what the drafts did not see is dated when
        noticed; the next scan, at most `_RESCAN_S` later, corrects any estimate)."""
        now = self._clock()
        with self._lock:
            for draft in drafts:
                pair = (draft.batch_id, draft.device)
                self._last_window[pair] = (draft.windows[-1].count, now)
                pending = self._pending.get(pair)
                if pending is None:
                    continue
                pending.count -= sum(window.count for window in draft.windows)
                if pending.count <= 0:
                    del self._pending[pair]
                    continue
                pending.first = draft.windows[-1].last_seq + 1
                rest = draft.rest_oldest
                pending.oldest = pending.newest if rest is None else rest
            # Only for `seconds_until_due`: when what the windows left comes due.
            self._classify(self._pending, now)

    def seconds_until_due(self) -> float | None:
        """How long until the next pending window not yet due comes of age, as of the last
        pass; None when the last pass saw no such window."""
        with self._lock:
            due_at = self._next_due_at
        return None if due_at is None else max(0.0, due_at - self._clock())

    def _due_pairs(
        self, now: float
    ) -> tuple[list[tuple[bytes, str]], frozenset[tuple[bytes, str]]]:
        """`_classify` of the pending readings as the inbox has them (read every
        `_RESCAN_S`: readings other instances stored are seen so), kept for the next passes."""
        with reading_session(self.engine) as session:
            scanned = {
                (row.batch_id, row.device): _Pending(*row[2:])
                for row in session.execute(_PENDING_PER_PAIR)
            }
        with self._lock:
            self._pending, self._scanned_at = scanned, now
            if now - self._forgot_at >= _FORGET_EVERY_S:
                self._forget_quiet_pairs(now)
            return self._classify(scanned, now)

    def _forget_quiet_pairs(self, now: float) -> None:
        """Drop the last window and last noticed reading of pairs quiet for `_FORGET_AFTER_S`.
        A burst is long over by then; a reading after so long a data gap is no longer seen
        as urgent when noticed, so its window closes by age (`max_age_s`) and the rule
        engine decides the gap then. Call with the lock."""
        horizon = now - _FORGET_AFTER_S
        self._forgot_at = now
        self._last_window = {p: w for p, w in self._last_window.items() if w[1] >= horizon}
        # Noticed readings carry the device's timestamp (seconds), refused if in the future.
        self._last_noticed = {p: n for p, n in self._last_noticed.items() if n[1] >= horizon}

    def _may_idle(self, pending: _Pending, last_window: int) -> bool:
        """Whether a pair's pending readings may close for their device's silence: enough of
        them — `idle_min_readings`, or what makes the pair's last window and this one hold
        twice that together (a burst's last readings: two anchorings' fixed cost still spread
        over as many readings) — and contiguous (a missing seq is waited for; a reading
        stored as the inbox was read may be counted twice, so more readings than seqs is no
        gap: drafting checks the rows themselves)."""
        if self.idle_s is None or pending.gapped:
            return False
        enough = max(1, min(self.idle_min_readings, 2 * self.idle_min_readings - last_window))
        return pending.count >= enough and pending.last - pending.first + 1 <= pending.count

    def _not_idle(self, pairs: Collection[tuple[bytes, str]]) -> None:
        """Pairs due for being idle that drafting did not close (a seq is missing, or their
        rule could not be read): not idle again until the inbox is read again."""
        with self._lock:
            for pair in pairs:
                pending = self._pending.get(pair)
                if pending is not None:
                    pending.gapped = True

    def _draft(
        self,
        pairs: Sequence[tuple[bytes, str]],
        rules: dict[bytes, Rule],
        *,
        now: float,
        watched: set[tuple[bytes, str]],
        idle: frozenset[tuple[bytes, str]],
    ) -> list[_PairDraft]:
        """Every window of the pairs due now, computed outside any write transaction (so
        ingestion is never held up by the hashing and the rule engine), from one read of the
        database per task: each pair's draft is checked against its current state when
        written, so tasks may read at slightly different moments."""
        options = _DraftOptions(
            now=now,
            watched=watched,
            idle=idle,
            max_readings=self.max_readings,
            max_age_s=self.max_age_s,
            submission_max_readings=self.submission_max_readings,
        )
        url = _shared_url(self.engine)
        if self._drafting is not None and url is not None and len(pairs) >= _POOL_MIN_PAIRS:
            # The workers read their pairs' pending rows themselves (readers never wait for
            # the writer): this process neither reads nor ships them.
            chunk = -(-len(pairs) // _DRAFTING_TASKS)
            tasks = [
                self._drafting.submit(
                    _read_and_draft, url, pairs[start : start + chunk], rules, options
                )
                for start in range(0, len(pairs), chunk)
            ]
            drafted = [draft for task in tasks for draft in task.result()]
        else:
            with self.engine.connect() as connection:
                jobs = _jobs(connection, pairs, rules, options)
            drafted = [_draft_pair(job) for job in jobs]
        # The few pairs whose windows need the rule engine in Python need their reading at
        # `last_seq` too: read only for them, then drafted again here.
        again = [(d.batch_id, d.device) for d in drafted if d.needs_previous]
        if again:
            with self.engine.connect() as connection:
                redrafted = {
                    (job.batch_id, job.device): _draft_pair(job)
                    for job in _jobs(connection, again, rules, options, with_previous=True)
                }
            drafted = [redrafted.get((d.batch_id, d.device), d) for d in drafted]
        for draft in drafted:
            halted = draft.state.halted_reason
            if halted is not None and halted != draft.before[2]:
                log.error(
                    "compliance of %s on 0x%s halted: %s; the contract would refuse its readings",
                    draft.device,
                    draft.batch_id.hex(),
                    halted,
                )
        with self._lock:
            self._watched.update((d.batch_id, d.device) for d in drafted if d.awaits_seq)
        return [draft for draft in drafted if draft.windows]

    def _write(self, drafts: Sequence[_PairDraft]) -> list[ClosedWindow]:
        """Write the drafted windows, their readings' marks, states and submissions at once.

        Raises:
            _Conflict: a pair's state or readings changed since its draft was made.
        """
        planned = [(draft, window) for draft in drafts for window in draft.windows]
        with for_writing(self.engine).begin() as connection:
            lock_devices(connection, sorted({d.device for d in drafts}))
            current = _states(connection, [(d.batch_id, d.device) for d in drafts])
            for draft in drafts:
                state = current.get((draft.batch_id, draft.device)) or _State()
                if (state.last_seq, state.last_submitted_seq, state.halted_reason) != draft.before:
                    raise _Conflict
            now = self._clock()
            ids: Sequence[int] = (
                connection.execute(
                    insert(_WINDOW).returning(_WINDOW.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "batch_id": draft.batch_id,
                            "device": draft.device,
                            "first_seq": window.first_seq,
                            "last_seq": window.last_seq,
                            "merkle_root": window.merkle_root,
                            "packed": window.packed,
                            "created_at": now,
                        }
                        for draft, window in planned
                    ],
                )
                .scalars()
                .all()
            )
            taken = connection.execute(
                _MARK_READINGS,
                [
                    {
                        "m_window": window_id,
                        "m_device": draft.device,
                        "m_first": window.first_seq,
                        "m_last": window.last_seq,
                    }
                    for window_id, (draft, window) in zip(ids, planned, strict=True)
                ],
            ).rowcount
            if taken != sum(window.count for _, window in planned):
                raise _Conflict
            if _left_behind(connection, drafts):
                # A late reading arrived below a drafted window: the next pass takes it.
                raise _Conflict
            submissions = [
                {
                    "batch_id": draft.batch_id,
                    "device": draft.device,
                    "window_id": window_id,
                    "reading_ids": reading_ids,
                    "decisions": decisions,
                    "created_at": now,
                }
                for window_id, (draft, window) in zip(ids, planned, strict=True)
                for reading_ids, decisions in window.submissions
            ]
            if submissions:
                connection.execute(insert(_SUBMISSION), submissions)
            states = [
                {"batch_id": d.batch_id, "device": d.device, **d.state.values()} for d in drafts
            ]
            known = [s for s in states if (s["batch_id"], s["device"]) in current]
            if known:
                connection.execute(
                    _UPDATE_STATE, [{f"s_{k}": v for k, v in s.items()} for s in known]
                )
            new = [s for s in states if (s["batch_id"], s["device"]) not in current]
            if new:
                connection.execute(insert(_STATE), new)
        return [
            ClosedWindow(
                window_id,
                draft.batch_id,
                draft.device,
                window.first_seq,
                window.last_seq,
                len(window.submissions),
            )
            for window_id, (draft, window) in zip(ids, planned, strict=True)
        ]


# How often the window closer reads the due pairs from the inbox even when what it read
# last and noticed since shows none due: readings other instances stored are seen so.
_RESCAN_S = 1.0
# Pending readings drafted and written together, at most about (a pair is never split):
# bounds a pass's memory on a backlog. Smaller runs cost throughput (a run of 25,000
# measured ~5% slower in bench/readings.py: the closer and the submitter share the GIL).
_RUN_READINGS = 100_000
# Per-pair memory beyond the inbox is dropped after this long without a reading or window,
# checked this often (a pass over every pair remembered).
_FORGET_AFTER_S = 24 * 3600.0
_FORGET_EVERY_S = 60.0
_NO_WINDOW = (0, 0.0)


@dataclass(slots=True)
class _Pending:
    """A pair's pending readings: how many, when the oldest and newest were received, the
    lowest and highest seq (`_PENDING_PER_PAIR`'s columns)."""

    count: int
    oldest: float
    newest: float
    first: int
    last: int
    # Drafting found a seq missing among them (they are not idle-closed until read again).
    gapped: bool = False


# A pair's pending readings loaded per pass: a backlog is worked off over several passes.
_WINDOWS_PER_PAIR_AND_PASS = 8
# Due pairs in a pass from which drafting goes to the worker processes (fewer: in-process).
_POOL_MIN_PAIRS = 8
# Tasks a pass's pairs are split into for the workers.
_DRAFTING_TASKS = 4
_WINDOW = table_of(ReadingWindow)
_SUBMISSION = table_of(ComplianceSubmission)
_STATE = table_of(DeviceComplianceState)
_PENDING_COLUMNS = (
    _INBOX.c.id,
    _INBOX.c.seq,
    _INBOX.c.timestamp,
    _INBOX.c.temp_milli_c,
    _INBOX.c.humidity_permille,
    _INBOX.c.signature,
    _INBOX.c.received_at,
)
# Per pair with pending readings: how many, when the oldest and the newest were received,
# the lowest and highest seq (the pending rows found by their index, grouped here).
_PENDING_PER_PAIR = (
    select(
        _INBOX.c.batch_id,
        _INBOX.c.device,
        func.count().label("pending"),
        func.min(_INBOX.c.received_at).label("oldest"),
        func.max(_INBOX.c.received_at).label("newest"),
        func.min(_INBOX.c.seq).label("first"),
        func.max(_INBOX.c.seq).label("last"),
    )
    .where(_INBOX.c.window_id.is_(None))
    .group_by(_INBOX.c.batch_id, _INBOX.c.device)
)
# A pair's pending readings lie above its last windowed seq (ingest refuses a seq at or
# below a device's windowed ones): the unique (device, seq) index walks just those.
_PENDING_OF_PAIR = (
    select(*_PENDING_COLUMNS)
    .where(
        _INBOX.c.device == bindparam("p_device"),
        _INBOX.c.seq > bindparam("p_after"),
        _INBOX.c.batch_id == bindparam("p_batch"),
        _INBOX.c.window_id.is_(None),
    )
    .order_by(_INBOX.c.seq)
    .limit(bindparam("p_limit"))
)
_MARK_READINGS = (
    update(_INBOX)
    .where(
        _INBOX.c.device == bindparam("m_device"),
        _INBOX.c.seq >= bindparam("m_first"),
        _INBOX.c.seq <= bindparam("m_last"),
        _INBOX.c.window_id.is_(None),
    )
    .values(window_id=bindparam("m_window"))
)
_STATE_FIELDS = (
    "last_seq",
    "last_timestamp",
    "in_excursion",
    "excursion_start",
    "last_submitted_seq",
    "halted_reason",
)
_UPDATE_STATE = (
    update(_STATE)
    .where(_STATE.c.batch_id == bindparam("s_batch_id"), _STATE.c.device == bindparam("s_device"))
    .values({name: bindparam(f"s_{name}") for name in _STATE_FIELDS})
)
# (batch, device) pairs or (device, seq) pairs per look-up statement.
_PAIRS_PER_LOOKUP = 400
_STATES_OF_PAIRS = select(_STATE).where(
    tuple_(_STATE.c.batch_id, _STATE.c.device).in_(bindparam("pairs", expanding=True))
)
_ROWS_AT = select(_INBOX.c.device, *_PENDING_COLUMNS).where(
    tuple_(_INBOX.c.device, _INBOX.c.seq).in_(bindparam("keys", expanding=True))
)


@dataclass(frozen=True)
class _State:
    """A pair's stored compliance state (`DeviceComplianceState`'s fields)."""

    last_seq: int = 0
    last_timestamp: int = 0
    in_excursion: bool = False
    excursion_start: int = 0
    last_submitted_seq: int = 0
    halted_reason: str | None = None

    @property
    def engine_state(self) -> ComplianceState:
        return ComplianceState(
            last_seq=self.last_seq,
            last_timestamp=self.last_timestamp,
            in_excursion=self.in_excursion,
            excursion_start=self.excursion_start,
        )

    def values(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _STATE_FIELDS}


def _states(
    connection: Connection, pairs: Sequence[tuple[bytes, str]]
) -> dict[tuple[bytes, str], _State]:
    """The stored compliance states of the (batch, device) pairs that have one."""
    found = {}
    for start in range(0, len(pairs), _PAIRS_PER_LOOKUP):
        chunk = list(pairs[start : start + _PAIRS_PER_LOOKUP])
        rows = connection.execute(_STATES_OF_PAIRS, {"pairs": chunk})
        for row in rows:
            found[(row.batch_id, row.device)] = _State(
                **{n: row._mapping[n] for n in _STATE_FIELDS}
            )
    return found


def _left_behind(connection: Connection, drafts: Sequence[_PairDraft]) -> bool:
    """Whether a pair still has a pending reading below its last drafted window's end (a
    reading stored after the draft was made, in a gap the window closed over)."""
    lookups = [
        {
            "device": d.device,
            "batch": d.batch_id,
            "after": d.before[0],
            "until": d.windows[-1].last_seq,
        }
        for d in drafts
    ]
    return any(True for _ in union_lookup_rows(connection, _pending_between_statement, lookups))


# Cached per pair count: building the statement anew costs far more than executing it.
@lru_cache(maxsize=LOOKUPS_PER_UNION)
def _pending_between_statement(count: int) -> CompoundSelect:
    """Any one pending reading of pair n with `after_n < seq <= until_n`, for each n."""
    return union_of_lookups(
        lambda n: (
            select(_INBOX.c.id)
            .where(
                _INBOX.c.device == bindparam(f"device_{n}"),
                _INBOX.c.seq > bindparam(f"after_{n}"),
                _INBOX.c.seq <= bindparam(f"until_{n}"),
                _INBOX.c.batch_id == bindparam(f"batch_{n}"),
                _INBOX.c.window_id.is_(None),
            )
            .limit(1)
        ),
        count,
    )


def _rows_at(connection: Connection, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    """The inbox rows (`_PENDING_COLUMNS`) of the (device, seq) pairs."""
    found = {}
    for start in range(0, len(keys), _PAIRS_PER_LOOKUP):
        chunk = list(keys[start : start + _PAIRS_PER_LOOKUP])
        rows = connection.execute(_ROWS_AT, {"keys": chunk})
        for row in rows:
            found[(row[0], row[2])] = tuple(row[1:])
    return found


@dataclass(frozen=True)
class _DraftOptions:
    """What a pass's drafting needs besides the pairs and their rules (picklable)."""

    now: float
    watched: set[tuple[bytes, str]]
    # Pairs due for their device's silence: their contiguous pending readings close as if old.
    idle: frozenset[tuple[bytes, str]]
    max_readings: int
    max_age_s: float
    submission_max_readings: int


def _jobs(
    connection: Connection,
    pairs: Sequence[tuple[bytes, str]],
    rules: dict[bytes, Rule],
    options: _DraftOptions,
    *,
    with_previous: bool = False,
) -> list[_PairJob]:
    """The drafting jobs of `pairs` from one read: states, pending rows and, if asked, each
    pair's reading at its `last_seq`."""
    states = _states(connection, pairs)
    limit = options.max_readings * _WINDOWS_PER_PAIR_AND_PASS
    previous_rows = (
        _rows_at(
            connection,
            [
                (device, state.last_seq)
                for (_, device), state in states.items()
                if state.last_seq and state.halted_reason is None
            ],
        )
        if with_previous
        else {}
    )
    jobs = []
    for batch_id, device in pairs:
        state = states.get((batch_id, device)) or _State()
        rows = driver_rows(
            connection,
            _PENDING_OF_PAIR,
            {"p_batch": batch_id, "p_device": device, "p_after": state.last_seq, "p_limit": limit},
        )
        now = options.now
        if (batch_id, device) in options.idle and _follows(state, rows):
            now += options.max_age_s  # every pending reading counts as old enough
        jobs.append(
            _PairJob(
                batch_id=batch_id,
                device=device,
                rule=rules[batch_id],
                rows=rows,
                state=state,
                previous_row=previous_rows.get((device, state.last_seq)),
                previous_read=with_previous,
                now=now,
                watched=(batch_id, device) in options.watched,
                max_readings=options.max_readings,
                max_age_s=options.max_age_s,
                submission_max_readings=options.submission_max_readings,
            )
        )
    return jobs


def _follows(state: _State, rows: Sequence[tuple[Any, ...]]) -> bool:
    """Whether pending `rows` (`_PENDING_COLUMNS`, seq order) continue the pair's windowed
    readings with no seq missing, before or between them."""
    if not rows:
        return False
    first, last = rows[0][1], rows[-1][1]
    return last - first + 1 == len(rows) and (state.last_seq == 0 or first == state.last_seq + 1)


def _shared_url(engine: Engine) -> str | None:
    """The URL another process can open the same database by: PostgreSQL, or a SQLite file
    (not an in-memory database)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
        return None
    return url.render_as_string(hide_password=False)


@lru_cache(maxsize=4)
def _worker_engine(url: str) -> Engine:
    """A worker process's engine on the bridge's database, made once per process."""
    return make_engine(url, sqlite_cache_mib=BRIDGE_SQLITE_CACHE_MIB)


def _read_and_draft(
    url: str, pairs: Sequence[tuple[bytes, str]], rules: dict[bytes, Rule], options: _DraftOptions
) -> list[_PairDraft]:
    """A worker's share of a pass: its pairs' rows read and their windows drafted."""
    with _worker_engine(url).connect() as connection:
        jobs = _jobs(connection, pairs, rules, options)
    return [_draft_pair(job) for job in jobs]


@dataclass(frozen=True)
class _PairJob:
    """What drafting one pair's windows needs: picklable, so a worker process can do it."""

    batch_id: bytes
    device: str
    rule: Rule
    # `_PENDING_COLUMNS` of its pending readings, in seq order
    rows: list[tuple[Any, ...]]
    state: _State
    # `_PENDING_COLUMNS` of the reading at `state.last_seq` (a data gap may need it), if
    # `previous_read`: it is read only for the pairs whose drafting asks for it
    previous_row: tuple[Any, ...] | None
    previous_read: bool
    now: float
    watched: bool
    max_readings: int
    max_age_s: float
    submission_max_readings: int


def _draft_pair(job: _PairJob) -> _PairDraft:
    """The windows of one pair due now (pure: hashing, packing and the rule engine)."""
    state = job.state
    draft = _PairDraft(
        batch_id=job.batch_id,
        device=job.device,
        before=(state.last_seq, state.last_submitted_seq, state.halted_reason),
        state=state,
    )
    rows = job.rows
    # Built only if a window needs the rule engine in Python (an excursion, a gap, ...).
    signed: list[SignedReading] = []
    received: list[float] = []
    ids: dict[int, int] = {}
    start = 0
    while start < len(rows):
        benign = _benign_window(job, draft.state, start)
        if benign == _NOT_DUE and not job.watched:
            break
        if isinstance(benign, tuple):
            count, packed, merkle_root, last_seq, last_timestamp = benign
            draft.state = replace(draft.state, last_seq=last_seq, last_timestamp=last_timestamp)
            draft.windows.append(
                _WindowDraft(rows[start][1], last_seq, count, merkle_root, packed, submissions=[])
            )
            start += count
            continue
        if not job.previous_read and state.last_seq and state.halted_reason is None:
            return replace(draft, windows=[], needs_previous=True)
        if not signed:
            signed = [_signed(job.batch_id, job.device, row) for row in rows]
            received = [row[-1] for row in rows]
            ids = _reading_ids(job)
        previous = signed[start - 1] if start else _previous_reading(job)
        window = _next_window(job, draft.state, signed[start:], received[start:], previous)
        if window == "awaits seq":
            draft.awaits_seq = True
            break
        if window is None:
            break
        count, packed, verdict = window
        taken = signed[start : start + count]
        if verdict is not None:
            draft.state = _State(
                last_seq=verdict.state.last_seq,
                last_timestamp=verdict.state.last_timestamp,
                in_excursion=verdict.state.in_excursion,
                excursion_start=verdict.state.excursion_start,
                last_submitted_seq=verdict.submitted_seq,
                halted_reason=verdict.halted_reason,
            )
        draft.windows.append(
            _WindowDraft(
                first_seq=taken[0].reading.seq,
                last_seq=taken[-1].reading.seq,
                count=count,
                merkle_root=window_root([s.reading for s in taken]),
                packed=packed,
                submissions=_submission_chunks(verdict, ids, job.submission_max_readings),
            )
        )
        start += count
    if start < len(rows):
        draft.rest_oldest = min(row[-1] for row in rows[start:])
    return draft


# `_benign_window`: no window is due at this reading.
_NOT_DUE = 0


def _benign_window(
    job: _PairJob, state: _State, start: int
) -> tuple[int, bytes, bytes, int, int] | int | None:
    """The pair's next window from `job.rows[start]` when it is due and every reading in it
    is in range (so it changes nothing but the pair's last seq and timestamp), drafted in C:
    (count, packed, Merkle root, last seq, last timestamp); `_NOT_DUE`; or None where the
    Python drafting must decide (no C module, a halted pair, an excursion, a gap, ...)."""
    if hotpath is None or state.halted_reason is not None:
        return None
    return hotpath.draft_window(
        READING_TYPE_HASH,
        bytes.fromhex(job.device[2:]),
        job.batch_id,
        job.rows,
        start,
        job.max_readings,
        job.now,
        job.max_age_s,
        job.rule.as_struct(),
        (state.last_seq, state.last_timestamp, state.in_excursion),
    )


def _previous_reading(job: _PairJob) -> SignedReading | None:
    """The signed reading at the pair's `state.last_seq`, if the job has it."""
    if job.previous_row is None:
        return None
    return _signed(job.batch_id, job.device, job.previous_row)


def _reading_ids(job: _PairJob) -> dict[int, int]:
    """Inbox row id by seq, of the job's pending readings and its previous one."""
    ids = {row[1]: row[0] for row in job.rows}
    if job.previous_row is not None:
        ids[job.previous_row[1]] = job.previous_row[0]
    return ids


class _PlanOptions(TypedDict):
    """The keyword arguments of `plan_window` a pair's job fixes."""

    now: float
    max_readings: int
    max_age_s: float


def _next_window(
    job: _PairJob,
    state: _State,
    readings: Sequence[SignedReading],
    received_at: Sequence[float],
    previous: SignedReading | None,
) -> tuple[int, bytes, WindowEvaluation | None] | Literal["awaits seq"] | None:
    """(count, packed, the rule engine's verdict or None when halted) of the pair's next
    window, if it is due: full, old, cut by packing, or deciding a quarantine; "awaits seq"
    when it may decide one but a seq before it is missing."""
    options: _PlanOptions = {
        "now": job.now,
        "max_readings": job.max_readings,
        "max_age_s": job.max_age_s,
    }
    plan = plan_window(readings, received_at, **options)
    if plan is None and not (job.watched and state.halted_reason is None):
        return None

    if plan is None and state.last_seq and readings[0].reading.seq != state.last_seq + 1:
        # A seq is missing before it (delivered out of order, or lost): deciding now could
        # quarantine on readings the missing one contradicts, so wait for it, at most until
        # the window is due anyway.
        return "awaits seq"
    run = plan or plan_window(readings, received_at, close_now=True, **options)
    assert run is not None
    verdict = None
    if state.halted_reason is None:
        verdict = evaluate_window(
            rule=job.rule,
            state=state.engine_state,
            submitted_seq=state.last_submitted_seq,
            readings=readings[: run.count],
            previous=previous,
        )
    if plan is None and not (
        verdict is not None and any(decision.quarantines for _, decision in verdict.to_submit)
    ):
        return None
    return run.count, run.packed, verdict


def _submission_chunks(
    verdict: WindowEvaluation | None, ids: dict[int, int], size: int
) -> list[tuple[list[int], list[int]]]:
    """(reading ids, decisions) of each `submitReadings` the verdict needs, `size` at most."""
    if verdict is None:
        return []
    return [
        (
            [ids[seq] for seq, _ in verdict.to_submit[start : start + size]],
            [int(decision) for _, decision in verdict.to_submit[start : start + size]],
        )
        for start in range(0, len(verdict.to_submit), size)
    ]


def _signed(batch_id: bytes, device: str, row: Any) -> SignedReading:
    """The signed reading of a `_PENDING_COLUMNS` row."""
    _, seq, timestamp, temp_milli_c, humidity_permille, signature, _ = row
    return SignedReading(
        Reading.stored(device, batch_id, seq, timestamp, temp_milli_c, humidity_permille),
        signature,
    )


@dataclass
class _WindowDraft:
    first_seq: int
    last_seq: int
    count: int
    merkle_root: bytes
    packed: bytes
    # (reading ids, decisions) of each submitReadings transaction
    submissions: list[tuple[list[int], list[int]]]


@dataclass
class _PairDraft:
    batch_id: bytes
    device: str
    # (last_seq, last_submitted_seq, halted_reason) the draft was computed from
    before: tuple[int, int, str | None]
    # the pair's state after its last drafted window
    state: _State
    windows: list[_WindowDraft] = field(default_factory=list)
    # A reading that may decide a quarantine waits behind a missing seq (still watched).
    awaits_seq: bool = False
    # The pair's windows need its reading at `last_seq`, which the job was made without.
    needs_previous: bool = False
    # When the oldest of the read pending readings left after the windows was received.
    rest_oldest: float | None = None


class _Conflict(Exception):
    """A pair changed between drafting and writing its windows."""
