"""Group commit for the access trail: entries of concurrent requests are appended by one
writer, as many as are waiting in one transaction, the hash chain computed there.

Each request still waits until its own entry is committed before its response leaves
(`TrailRecorder`), so an acknowledged request is never lost: a crash loses only entries of
requests that were not answered yet. What batching saves is the per-entry cost of a
transaction (SQLite's commit and its sync, the head read, a thread hop per request): under
load, the entries that arrive while one batch commits form the next (bench/api.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol

from api.errors import TrailError
from api.trail import ChainedEntry, TrailEntry

_log = logging.getLogger(__name__)

# Entries one transaction takes at most; the rest wait for the next.
MAX_BATCH = 1_000
# How long the writer waits for another entry before its thread ends: starting a thread
# per burst cost more than the entries' own SQL under steady load.
LINGER_S = 0.5


class TrailLog(Protocol):
    """Where entries are appended (`api.store.trail.TrailStore`)."""

    def append_many(self, entries: Sequence[TrailEntry]) -> list[ChainedEntry]:
        """Append `entries` in order, in one transaction (their `seq` assigned by the log),
        and return them chained; nothing is appended when it raises."""
        ...


class TrailClosed(TrailError):
    """An entry was offered after `GroupCommit.close`."""


class GroupCommit:
    """Appends the entries given to `submit` to `log`, a batch per transaction, in the order
    they were submitted. One writer thread runs while entries come, lingering `linger_s` for
    more before it stops, so an idle app holds no thread and a busy one starts none."""

    def __init__(
        self, log: TrailLog, *, max_batch: int = MAX_BATCH, linger_s: float = LINGER_S
    ) -> None:
        self.log = log
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiting: list[tuple[TrailEntry, Future[ChainedEntry]]] = []
        self._committing = 0
        self._writer_running = False
        self._closed = False

    def submit(self, entry: TrailEntry) -> Future[ChainedEntry]:
        """Queue `entry`; the future gives it chained once committed, or the error that
        kept its batch from the log (then none of that batch is appended).

        Raises:
            TrailClosed: after `close`.
        """
        future: Future[ChainedEntry] = Future()
        with self._lock:
            if self._closed:
                raise TrailClosed("the access trail is closed: the node is stopping")
            self._waiting.append((entry, future))
            self._changed.notify_all()
            start = not self._writer_running
            self._writer_running = True
        if start:
            # Daemon: one left writing at exit had no answered request waiting on it.
            threading.Thread(target=self._write, name="trail-writer", daemon=True).start()
        return future

    async def append(self, entry: TrailEntry) -> ChainedEntry:
        """`entry` chained, once committed (from the event loop)."""
        return await asyncio.wrap_future(self.submit(entry))

    def flush(self) -> None:
        """Return once every entry submitted so far is committed (or failed)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._waiting and not self._committing)

    def close(self) -> None:
        """Refuse new entries and commit the waiting ones (on shutdown)."""
        with self._lock:
            self._closed = True
        self.flush()

    def _write(self) -> None:
        while True:
            with self._changed:
                if not self._waiting:
                    self._changed.wait(self._linger_s)
                if not self._waiting:
                    self._writer_running = False
                    return
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                self._committing = len(batch)
            try:
                chained = self.log.append_many([entry for entry, _ in batch])
            except Exception as exc:
                _log.exception("the access trail refused %d entries", len(batch))
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for (_, future), stored in zip(batch, chained, strict=True):
                    future.set_result(stored)
            finally:
                with self._changed:
                    self._committing = 0
                    self._changed.notify_all()
