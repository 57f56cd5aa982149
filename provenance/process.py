"""Process-wide settings of a long-running process. They belong to whoever owns the
process (the member node, a benchmark), never to a library object: a bridge built inside
someone else's process leaves its collector alone."""

from __future__ import annotations

import gc
from collections.abc import Callable

# Allocations between young-generation collections while a node runs (Python: 700).
GC_YOUNG_THRESHOLD = 20_000


def tune_collector() -> Callable[[], None]:
    """Tune the garbage collector for a node's hot path; returns what restores it.

    What exists now (modules, clients, caches) lives as long as the process: it is frozen
    out of the collector's scans, and young collections come less often (the bridge's hot
    path makes few reference cycles; collections took ~5 µs a reading otherwise).
    """
    saved = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *saved[1:])

    def restore() -> None:
        gc.set_threshold(*saved)
        gc.unfreeze()

    return restore
