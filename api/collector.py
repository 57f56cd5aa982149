"""The garbage collector paused around a request that builds a large acyclic answer.

A 100,000-node trace allocates about a million short-lived tuples, dicts and strings and
makes no reference cycle; collections triggered while it ran traversed the node's whole heap
again and again (0.2-0.6 s of a ~1 s trace). Paused while any such request runs, so
requests overlapping in threads restore it only when the last one ends, and never enable a
collector someone else disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def paused_collection() -> Iterator[None]:
    """No cyclic garbage collection inside the block (reference counting still frees)."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
