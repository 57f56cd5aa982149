"""The port of the bridge's per-reading hot path: screening, a window's Merkle root, drafting
a benign window. The pure-Python `reference.PythonHotPath` defines what each operation
means; `extension.NativeHotPath` (C, `_hotpath.c`) must answer exactly the same.

Screening and drafting only ever say yes: an operation answers None where the caller's own
Python code (`screening.screen`, `windows.planning`) must decide, so an implementation can
never accept what Python would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from oracle_bridge.readings import Reading
from oracle_bridge.rules import Rule

# `draft_window`'s answer: (count, packed, Merkle root, last seq, last timestamp), NOT_DUE, or
# None (the rule engine in Python decides).
DraftedWindow = tuple[int, bytes, bytes, int, int]
NOT_DUE = 0


class HotPath(Protocol):
    @property
    def name(self) -> str:
        """Which implementation this is ("python" or "c"), for logs and benchmarks."""

    @property
    def releases_gil(self) -> bool:
        """Whether screening runs without the GIL (so it stays on the calling thread rather
        than going to worker processes)."""

    def screen_many(
        self, raws: Sequence[bytes], *, separator: bytes, latest_timestamp: float, max_bytes: int
    ) -> list[tuple[Any, ...] | None]:
        """Per raw reading, its `Screened` fields (the device as sent) if it passes every check
        of `screening.screen`, else None (the Python screen decides and words the refusal)."""

    def window_root(self, readings: Sequence[Reading]) -> bytes:
        """`MerkleTree(leaves(readings)).root` of a window's readings (one device, one batch,
        at least one)."""

    def draft_window(
        self,
        *,
        device: str,
        batch_id: bytes,
        rows: Sequence[tuple[Any, ...]],
        start: int,
        max_readings: int,
        now: float,
        max_age_s: float,
        rule: Rule,
        state: tuple[int, int, bool],
    ) -> DraftedWindow | int | None:
        """The pair's next window from `rows[start]` (`windows.inbox.PENDING_COLUMNS`) when it
        is due and changes nothing but the pair's last seq and timestamp (`state`: last seq,
        last timestamp, in excursion); NOT_DUE; or None where the rule engine must decide."""
