"""The bridge's per-reading hot path in C (`_hotpath.c`), where it could be built.

`hotpath` is the loaded module, or None where the install had no C compiler: then the
callers (`screening.screen_all`, `merkle.window_root`) do the same work in Python, only
slower. The C code uses the cryptography the Python side uses, found at run time:
libsecp256k1 as bundled in coincurve, keccak as bundled in pycryptodome. Where it was built
with batch verification (`hotpath.BATCH_VERIFY`, see setup.py), it also carries
libsecp256k1's internals for that, compiled in.
"""

from __future__ import annotations

import logging
from importlib.util import find_spec
from types import ModuleType

log = logging.getLogger(__name__)

_LIBRARIES = ("coincurve._libsecp256k1", "Crypto.Hash._keccak")


def _load() -> ModuleType | None:
    try:
        from oracle_bridge import _hotpath  # type: ignore[attr-defined]
    except ImportError:
        log.warning("oracle_bridge._hotpath is not built: readings are screened in Python")
        return None
    specs = [find_spec(name) for name in _LIBRARIES]
    try:
        _hotpath.load(*(spec.origin for spec in specs if spec is not None))
    except (ImportError, TypeError) as exc:
        log.warning("readings are screened in Python: %s", exc)
        return None
    return _hotpath


hotpath = _load()
