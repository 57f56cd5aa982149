"""The read model's follower in a process of its own, for `provenance serve`.

In the node's process the follower's thread shares the interpreter lock with the capture
jobs and the API's requests, and during heavy capture it falls behind the chain by as much
as it is starved of. Its own process indexes on its own lock. It keeps the thread
follower's contract: `stop()` ends it after its current run (each chunk commits whole, so
nothing is lost or torn), `lag_blocks` and `failure` say how it fares.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from typing import Any

from ledger_client.config import LedgerSettings
from ledger_client.indexer.indexer import IndexerError

log = logging.getLogger(__name__)

# How often the process reports its lag and checks for a stop or a vanished parent.
_REPORT_S = 0.2
# What `lag_blocks` holds before the first run ends.
_NO_RUN_YET = -1
# A spawned interpreter starts clean: no threads of the node's copied into it.
_CONTEXT = multiprocessing.get_context("spawn")


class FollowerProcess:
    """Follows the chain into `ledger`'s read model from a child process until `stop()`."""

    def __init__(self, ledger: LedgerSettings, *, poll_s: float = 1.0) -> None:
        if poll_s <= 0:
            raise ValueError("poll_s must be > 0")
        self.ledger = ledger
        self.poll_s = poll_s
        self._stop: Event = _CONTEXT.Event()
        self._lag: Any = _CONTEXT.Value("q", _NO_RUN_YET)
        self._failure: Any = _CONTEXT.Array("c", 4_096)
        self._process: BaseProcess | None = None

    @property
    def lag_blocks(self) -> int | None:
        """Blocks between the chain's head and the read model's checkpoint at the last run;
        None before the first run ends."""
        lag = self._lag.value
        return None if lag == _NO_RUN_YET else lag

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def failure(self) -> IndexerError | None:
        """Why the follower gave up, if it did."""
        message = self._failure.value.decode("utf-8", "replace")
        return IndexerError(message) if message else None

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("the follower is already running")
        self._stop.clear()
        root = logging.getLogger()
        log_level = root.getEffectiveLevel() if root.handlers else None
        self._process = _CONTEXT.Process(
            target=_follow,
            args=(self.ledger, self.poll_s, self._stop, self._lag, self._failure, log_level),
            name="read-model",
            daemon=True,
        )
        self._process.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop after the current run; killed only if it has not ended in `timeout_s`."""
        self._stop.set()
        process, self._process = self._process, None
        if process is None:
            return
        process.join(timeout_s)
        if process.is_alive():
            log.error("the read model's follower did not stop in %.0fs; killing it", timeout_s)
            process.kill()
            process.join()


def _follow(
    ledger: LedgerSettings,
    poll_s: float,
    stop: Event,
    lag: Any,
    failure: Any,
    log_level: int | None,
) -> None:
    """The child: the thread follower, run until `stop` is set or the node's process ends."""
    # Ctrl-C reaches the whole process group and SIGTERM may: the node says when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if log_level is not None:
        from provenance.logs import configure_logging

        configure_logging(level=log_level)
    from provenance.node import read_model_follower

    parent = os.getppid()
    follower = read_model_follower(ledger, poll_s=poll_s)
    follower.start()
    try:
        while not stop.wait(_REPORT_S) and follower.running and os.getppid() == parent:
            lag.value = _NO_RUN_YET if follower.lag_blocks is None else follower.lag_blocks
    finally:
        follower.stop()
        if follower.failure is not None:
            failure.value = str(follower.failure).encode()[: len(failure) - 1]
