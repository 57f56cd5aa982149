"""Conditions a running bridge noticed in itself that make it less than healthy.

Components that see trouble the probes cannot (a store write that failed, the chain losing
anchored transactions) raise a named condition here and clear it once recovered; `/healthz`
reports `degraded` while any is raised.
"""

from __future__ import annotations

import threading


class Conditions:
    """Thread-safe named conditions, each with a one-line description for operators."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._raised: dict[str, str] = {}

    def raise_(self, name: str, detail: str) -> None:
        with self._lock:
            self._raised[name] = detail

    def clear(self, name: str) -> None:
        with self._lock:
            self._raised.pop(name, None)

    def current(self) -> dict[str, str]:
        """The raised conditions, name to description."""
        with self._lock:
            return dict(self._raised)
