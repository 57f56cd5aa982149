"""The window closer: decides which (batch, device) pairs have a window due, drafts them
(in this process or the workers) and writes them, keeping what it knows of each pair's
pending readings between passes so most passes need not read the inbox.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from ledger_client.errors import ChainRejected, ChainUnavailable
from oracle_bridge.errors import NoRule
from oracle_bridge.native import HotPath, PythonHotPath
from oracle_bridge.policy import RuleSource
from oracle_bridge.rules import Rule
from oracle_bridge.screening import Screened
from oracle_bridge.store import reading_session
from oracle_bridge.windows.drafting import PairDraft, draft_pair
from oracle_bridge.windows.inbox import PENDING_PER_PAIR, DraftOptions, read_jobs
from oracle_bridge.windows.outbox import ClosedWindow, Conflict, write_windows
from oracle_bridge.windows.pool import DRAFTING_TASKS, POOL_MIN_PAIRS, read_and_draft, shared_url

log = logging.getLogger(__name__)
# The hot path of a closer not given one: the pure-Python reference (stateless).
REFERENCE = PythonHotPath()

# How often the window closer reads the due pairs from the inbox even when what it read
# last and noticed since shows none due: readings other instances stored are seen so.
RESCAN_S = 1.0
# Pending readings drafted and written together, at most about (a pair is never split):
# bounds a pass's memory on a backlog. Smaller runs cost throughput (a run of 25,000
# measured ~5% slower in bench/readings.py: the closer and the submitter share the GIL).
RUN_READINGS = 100_000
# Per-pair memory beyond the inbox is dropped after this long without a reading or window,
# checked this often (a pass over every pair remembered).
FORGET_AFTER_S = 24 * 3600.0
FORGET_EVERY_S = 60.0
_NO_WINDOW = (0, 0.0)


@dataclass(slots=True)
class _Pending:
    """A pair's pending readings: how many, when the oldest and newest were received, the
    lowest and highest seq (`PENDING_PER_PAIR`'s columns)."""

    count: int
    oldest: float
    newest: float
    first: int
    last: int
    # Drafting found a seq missing among them (they are not idle-closed until read again).
    gapped: bool = False


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
        hot_path: HotPath = REFERENCE,
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
        self._hot_path = hot_path
        self._lock = threading.Lock()
        self._watched: set[tuple[bytes, str]] = set()
        # (seq, timestamp) of the last reading noticed per pair: what a data gap is seen from.
        self._last_noticed: dict[tuple[bytes, str], tuple[int, int]] = {}
        self._next_due_at: float | None = None
        # The pending readings per pair as the inbox was last read, kept current with what was
        # noticed and taken since: a pass drafts the pairs these show due, and reads the
        # inbox again only every `RESCAN_S` (or after a write gave way).
        self._pending: dict[tuple[bytes, str], _Pending] = {}
        self._scanned_at: float | None = None
        # How many readings the last window this closer wrote for each pair holds, and when.
        self._last_window: dict[tuple[bytes, str], tuple[int, float]] = {}
        # What is kept per pair outside the inbox is forgotten once the pair has been quiet
        # for `FORGET_AFTER_S`, so memory follows the pairs active lately, not all ever seen.
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
                    except (NoRule, ChainUnavailable, ChainRejected):
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
            known = self._scanned_at is not None and now - self._scanned_at < RESCAN_S
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
        """`pairs` cut into runs of about `RUN_READINGS` pending readings, each drafted and
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
            if readings >= RUN_READINGS:
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
                except (NoRule, ChainUnavailable, ChainRejected) as exc:
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
            closed = write_windows(self.engine, drafts, clock=self._clock)
        except (Conflict, IntegrityError):
            # Another closer took some of these readings first; the next pass starts afresh.
            log.info("windows of %d pair(s) were closed concurrently", len(drafts))
            with self._lock:
                self._scanned_at = None
            return []
        self._taken(drafts)
        if self._on_closed is not None:
            self._on_closed()
        return closed

    def _taken(self, drafts: Sequence[PairDraft]) -> None:
        """Note what the written windows took from their pairs' pending readings, so the
        next pass need not read the inbox to know (what the drafts did not see is dated when
        noticed; the next scan, at most `RESCAN_S` later, corrects any estimate)."""
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
        `RESCAN_S`: readings other instances stored are seen so), kept for the next passes."""
        with reading_session(self.engine) as session:
            scanned = {
                (row.batch_id, row.device): _Pending(*row[2:])
                for row in session.execute(PENDING_PER_PAIR)
            }
        with self._lock:
            self._pending, self._scanned_at = scanned, now
            if now - self._forgot_at >= FORGET_EVERY_S:
                self._forget_quiet_pairs(now)
            return self._classify(scanned, now)

    def _forget_quiet_pairs(self, now: float) -> None:
        """Drop the last window and last noticed reading of pairs quiet for `FORGET_AFTER_S`.
        A burst is long over by then; a reading after so long a data gap is no longer seen
        as urgent when noticed, so its window closes by age (`max_age_s`) and the rule
        engine decides the gap then. Call with the lock."""
        horizon = now - FORGET_AFTER_S
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
    ) -> list[PairDraft]:
        """Every window of the pairs due now, computed outside any write transaction (so
        ingestion is never held up by the hashing and the rule engine), from one read of the
        database per task: each pair's draft is checked against its current state when
        written, so tasks may read at slightly different moments."""
        options = DraftOptions(
            now=now,
            watched=watched,
            idle=idle,
            max_readings=self.max_readings,
            max_age_s=self.max_age_s,
            submission_max_readings=self.submission_max_readings,
        )
        url = shared_url(self.engine)
        if self._drafting is not None and url is not None and len(pairs) >= POOL_MIN_PAIRS:
            # The workers read their pairs' pending rows themselves (readers never wait for
            # the writer): this process neither reads nor ships them.
            chunk = -(-len(pairs) // DRAFTING_TASKS)
            tasks = [
                self._drafting.submit(
                    read_and_draft,
                    url,
                    pairs[start : start + chunk],
                    rules,
                    options,
                    self._hot_path,
                )
                for start in range(0, len(pairs), chunk)
            ]
            drafted = [draft for task in tasks for draft in task.result()]
        else:
            with self.engine.connect() as connection:
                jobs = read_jobs(connection, pairs, rules, options)
            drafted = [draft_pair(job, hot_path=self._hot_path) for job in jobs]
        # The few pairs whose windows need the rule engine in Python need their reading at
        # `last_seq` too: read only for them, then drafted again here.
        again = [(d.batch_id, d.device) for d in drafted if d.needs_previous]
        if again:
            with self.engine.connect() as connection:
                redrafted = {
                    (job.batch_id, job.device): draft_pair(job, hot_path=self._hot_path)
                    for job in read_jobs(connection, again, rules, options, with_previous=True)
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
