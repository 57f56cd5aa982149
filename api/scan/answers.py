"""Scan answers kept between requests while what they were built from is unchanged.

Each is kept under a slot (what it is: a lot's JSON, its page as the public or a member sees
it) with the version it was built from: the lot's last indexed change and, for a page, the
live statuses of its credentials. A request whose version differs rebuilds the answer, so a
lot's page changes the moment its status does. An answer is also rebuilt once it is
`recheck_s` old, which bounds how long a record altered in the read model behind the
indexer's back still reads "verified", and how far the cold chain drawn lags the readings.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

DEFAULT_RECHECK_S = 10.0
DEFAULT_LIMIT = 1_024


@dataclass(frozen=True)
class Kept:
    """A value built for `version`, when (the clock's seconds), and when it is a body its
    ETag and its gzip encoding (compressed once, sent to every client that takes gzip)."""

    version: Hashable
    value: Any
    built_at: float
    etag: str | None = None
    gzipped: bytes | None = None


def etag_of(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


class ScanAnswers:
    """At most `limit` slots, the least recently used forgotten first; safe between threads."""

    def __init__(
        self,
        *,
        recheck_s: float = DEFAULT_RECHECK_S,
        limit: int = DEFAULT_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if recheck_s < 0 or limit < 1:
            raise ValueError("recheck_s must be >= 0 and limit >= 1")
        self._recheck_s = recheck_s
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: OrderedDict[Hashable, Kept] = OrderedDict()

    def get(self, slot: Hashable, version: Hashable) -> Kept | None:
        """What `slot` holds for `version`; None when it holds another or is due a recheck."""
        with self._lock:
            kept = self._slots.get(slot)
            if kept is None or kept.version != version:
                return None
            if self._clock() - kept.built_at >= self._recheck_s:
                return None
            self._slots.move_to_end(slot)
            return kept

    def keep(self, slot: Hashable, version: Hashable, value: Any, *, body: bool = False) -> Kept:
        """Keep `value` built for `version` in `slot` (with its ETag when it is a `body`)."""
        kept = (
            Kept(version, value, self._clock(), etag_of(value), gzip.compress(value, mtime=0))
            if body
            else Kept(version, value, self._clock())
        )
        with self._lock:
            self._slots[slot] = kept
            self._slots.move_to_end(slot)
            while len(self._slots) > self._limit:
                self._slots.popitem(last=False)
        return kept
