"""The bridge's worker processes, for CPU-bound work that holds the GIL in Python.

Window drafting runs there (each worker reads its pairs' rows itself). Screening runs there
only where the C hot path could not be built: in C it releases the GIL, so each ingress
thread screens its own batches in parallel with the others, and a round trip to a worker
(pickling 500 readings out and their results back) cost more than it spared — measured
with the bench's fleet: 82 → 72 µs of CPU a reading, accept 31,000 → 53,000 readings/s.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def start_workers(count: int) -> ProcessPoolExecutor | None:
    """`count` worker processes, started now (not when the first task would wait for them
    to import); None for 0. Spawned, not forked: the bridge's threads may hold locks at any
    instant. The caller shuts them down."""
    if count <= 0:
        return None
    pool = ProcessPoolExecutor(count, mp_context=get_context("spawn"), initializer=_prepare)
    for _ in range(count):
        pool.submit(int)
    return pool


def _prepare() -> None:
    """A worker's initializer: imports what drafting and screening need before the first
    task waits for them."""
    import oracle_bridge.screening  # noqa: F401
    import oracle_bridge.windows  # noqa: F401
