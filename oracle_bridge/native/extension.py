"""The hot path in C (`_hotpath.c`), where it was built and may be trusted.

The C code uses the cryptography the Python side uses, found at run time: libsecp256k1 as
bundled in coincurve, and pycryptodome's private keccak functions. Their signatures are
those of the versions pinned in pyproject.toml (`PINNED`): with any other version installed
the module is not loaded (failing closed: a changed private signature would corrupt memory,
not raise), the reason is logged and the bridge runs the Python reference. Where it was
built with batch verification (`BATCH_VERIFY`), it carries libsecp256k1's internals of the
version it names (`LIBSECP256K1_VERSION`), compiled in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from types import ModuleType
from typing import Any

from oracle_bridge.native.port import DraftedWindow
from oracle_bridge.readings import READING_TYPE_HASH, Reading
from oracle_bridge.rules import Rule

log = logging.getLogger(__name__)

# The distributions whose private symbols `_hotpath.c` loads, at the versions its
# declarations were written against (pyproject.toml pins the same; a test checks).
PINNED = {"coincurve": "21.0.0", "pycryptodome": "3.24.1"}
_LIBRARIES = ("coincurve._libsecp256k1", "Crypto.Hash._keccak")


def unpinned() -> str | None:
    """Why the installed cryptography libraries may not be loaded by the C module, or None."""
    for distribution, pinned in PINNED.items():
        try:
            installed = version(distribution)
        except PackageNotFoundError:
            return f"{distribution} is not installed"
        if installed != pinned:
            return (
                f"{distribution} {installed} is installed but _hotpath.c was written against"
                f" {pinned} (pyproject.toml): its private symbols may differ"
            )
    return None


@cache
def load_extension() -> ModuleType | None:
    """The C module with its libraries bound, or None (the reason logged), once a process."""
    problem = unpinned()
    if problem is not None:
        log.warning("the C hot path is not used: %s; the Python reference runs", problem)
        return None
    try:
        from oracle_bridge.native import _hotpath  # type: ignore[attr-defined]
    except ImportError:
        log.warning("oracle_bridge.native._hotpath is not built: the Python reference runs")
        return None
    specs = [find_spec(name) for name in _LIBRARIES]
    try:
        _hotpath.load(*(spec.origin for spec in specs if spec is not None))
    except (ImportError, TypeError) as exc:
        log.warning("the C hot path is not used: %s; the Python reference runs", exc)
        return None
    return _hotpath


class NativeHotPath:
    """The C `HotPath` (releases the GIL); picklable: a worker process loads its own."""

    name = "c"
    releases_gil = True

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    @property
    def libsecp256k1_version(self) -> str | None:
        """The libsecp256k1 source compiled in for batch verification (setup.py reads it
        from the npm package), or None where it was built without."""
        return getattr(self.module, "LIBSECP256K1_VERSION", None)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reloaded, ())

    def screen_many(
        self, raws: Sequence[bytes], *, separator: bytes, latest_timestamp: float, max_bytes: int
    ) -> list[tuple[Any, ...] | None]:
        if not all(type(raw) is bytes for raw in raws):
            return [None] * len(raws)
        return self.module.screen_many(
            raws, READING_TYPE_HASH, separator, latest_timestamp, max_bytes
        )

    def window_root(self, readings: Sequence[Reading]) -> bytes:
        first = readings[0]
        return self.module.window_root(
            READING_TYPE_HASH,
            bytes.fromhex(first.device[2:]),
            first.batch_id,
            [(r.seq, r.timestamp, r.temp_milli_c, r.humidity_permille) for r in readings],
        )

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
        return self.module.draft_window(
            READING_TYPE_HASH,
            bytes.fromhex(device[2:]),
            batch_id,
            rows,
            start,
            max_readings,
            now,
            max_age_s,
            rule.as_struct(),
            state,
        )


def _reloaded() -> NativeHotPath:
    module = load_extension()
    if module is None:
        raise ImportError("the C hot path cannot be loaded in this process")
    return NativeHotPath(module)
