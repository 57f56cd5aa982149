"""The read model kept current beside a running service: the indexer in a thread of its own."""

from __future__ import annotations

import logging
import threading

from ledger_client.chain import CHAIN_UNREACHABLE
from ledger_client.errors import ChainRejected
from ledger_client.indexer.indexer import Indexer, IndexerError, IndexProgress

log = logging.getLogger(__name__)


class ReadModelFollower:
    """Runs `indexer` every `poll_s` seconds in a thread until `stop()`. An unreachable or
    refusing node is logged and retried at the next poll, as is any other failure; an
    `IndexerError` (the read model cannot be continued) ends the thread, logged."""

    def __init__(self, indexer: Indexer, *, poll_s: float = 1.0) -> None:
        if poll_s <= 0:
            raise ValueError("poll_s must be > 0")
        self.indexer = indexer
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: IndexProgress | None = None
        self._caught_up = False
        # Why the thread gave up, if it did.
        self.failure: IndexerError | None = None

    @property
    def lag_blocks(self) -> int | None:
        """Blocks between the chain's head and the read model's checkpoint at the last run;
        None before the first run ends."""
        last = self._last
        return None if last is None else max(0, last.head - last.checkpoint)

    @property
    def running(self) -> bool:
        """Whether the thread follows the chain (False once stopped or given up)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the follower is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="read-model", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the current run (a run commits chunk by chunk, so nothing is torn)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def run_once(self) -> IndexProgress:
        """One indexing run, remembered for `lag_blocks`; logs the first catch-up."""
        progress = self.indexer.run_once()
        self._last = progress
        if (
            not self._caught_up
            and progress.checkpoint >= progress.head - self.indexer.confirmations
        ):
            self._caught_up = True
            log.info("read model caught up with the chain at block %d", progress.checkpoint)
        return progress

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except CHAIN_UNREACHABLE as exc:
                log.warning("indexer: node unavailable, retrying in %.1fs: %s", self.poll_s, exc)
            except ChainRejected as exc:
                log.warning("indexer: the node refused a request, retrying: %s", exc)
            except IndexerError as exc:
                log.error("indexer stopped, the read model is no longer kept current: %s", exc)
                self.failure = exc
                return
            except Exception:
                log.exception("indexer run failed; retrying in %.1fs", self.poll_s)
            self._stop.wait(self.poll_s)
