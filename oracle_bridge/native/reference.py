"""The hot path's pure-Python reference: what each operation of `port.HotPath` means.

It says yes to nothing it would need the rule engine or the full screen for: every reading is
screened by `screening.screen`, every window drafted by `windows.planning`; only the Merkle
root is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oracle_bridge.merkle import MerkleTree, leaves
from oracle_bridge.native.port import DraftedWindow
from oracle_bridge.readings import Reading
from oracle_bridge.rules import Rule


class PythonHotPath:
    """The reference `HotPath`: slower, and the definition the C module is tested against."""

    name = "python"
    releases_gil = False

    def screen_many(
        self, raws: Sequence[bytes], *, separator: bytes, latest_timestamp: float, max_bytes: int
    ) -> list[tuple[Any, ...] | None]:
        return [None] * len(raws)

    def window_root(self, readings: Sequence[Reading]) -> bytes:
        return MerkleTree(leaves(readings)).root

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
        return None
