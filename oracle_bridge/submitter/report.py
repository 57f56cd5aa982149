"""What a submitter pass did, and the backoff the bridge applies while the chain fails."""

from __future__ import annotations

from dataclasses import dataclass, fields


class Backoff:
    """Exponential delays between `min_s` and `max_s` while the chain keeps failing."""

    def __init__(self, min_s: float, max_s: float) -> None:
        self.min_s = min_s
        self.max_s = max_s
        self._delay: float | None = None

    def failed(self) -> float:
        """The delay before the next attempt (doubling, bounded)."""
        self._delay = self.min_s if self._delay is None else min(self._delay * 2, self.max_s)
        return self._delay

    def succeeded(self) -> None:
        self._delay = None


@dataclass
class SubmitReport:
    """What one pass (or several) of the submitter did."""

    windows_sent: int = 0
    windows_anchored: int = 0
    submissions_sent: int = 0
    submissions_confirmed: int = 0
    submissions_failed: int = 0
    # Transactions of earlier passes still unmined when this one looked (not progress).
    awaiting_receipts: int = 0

    @property
    def progressed(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "awaiting_receipts")

    def add(self, other: SubmitReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
