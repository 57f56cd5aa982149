"""The bridge's per-reading hot path behind a port (`HotPath`): the pure-Python reference
(`PythonHotPath`) and the C module (`NativeHotPath`, `_hotpath.c`), chosen by whoever builds
the bridge (`hot_path_from_environment`) and passed in, never read from a global.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from oracle_bridge.native.extension import NativeHotPath, load_extension
from oracle_bridge.native.port import NOT_DUE, DraftedWindow, HotPath
from oracle_bridge.native.reference import PythonHotPath

__all__ = [
    "NOT_DUE",
    "DraftedWindow",
    "HotPath",
    "NativeHotPath",
    "PythonHotPath",
    "hot_path_from_environment",
    "load_native",
]

log = logging.getLogger(__name__)

# Set to 0 to run the Python reference even where the C module is built.
NATIVE_VARIABLE = "PROVENANCE_NATIVE"


def load_native() -> NativeHotPath | None:
    """The C hot path, or None where it is not built or may not be trusted (reason logged)."""
    module = load_extension()
    return None if module is None else NativeHotPath(module)


def hot_path_from_environment(environ: Mapping[str, str] = os.environ) -> HotPath:
    """The C hot path unless PROVENANCE_NATIVE=0 or it cannot be loaded; else the reference.

    Raises:
        ValueError: PROVENANCE_NATIVE is neither 0 nor 1.
    """
    wanted = environ.get(NATIVE_VARIABLE, "1")
    if wanted not in {"0", "1"}:
        raise ValueError(f"{NATIVE_VARIABLE} must be 0 or 1, not {wanted!r}")
    if wanted == "0":
        log.info("%s=0: the Python reference hot path runs", NATIVE_VARIABLE)
        return PythonHotPath()
    return load_native() or PythonHotPath()
