"""Per-principal request budgets: a token bucket for each bearer token or session, so one
user's script cannot starve the others (answered 429 with Retry-After when spent)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Buckets idle this long are forgotten, so tokens that stop calling cost no memory.
_IDLE_S = 600.0


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Each principal may make `burst` requests at once and `per_s` a second after that."""

    def __init__(
        self, *, per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_s <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_s > 0 and burst >= 1")
        self.per_s = per_s
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._swept_at = clock()

    def admit(self, principal_id: str) -> float | None:
        """Spend one request of `principal_id`'s budget: None when admitted, else the seconds
        until it may try again."""
        now = self._clock()
        with self._lock:
            if now - self._swept_at > _IDLE_S:
                self._sweep(now)
            bucket = self._buckets.get(principal_id)
            if bucket is None:
                bucket = self._buckets[principal_id] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_s)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return (1 - bucket.tokens) / self.per_s

    def _sweep(self, now: float) -> None:
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at <= _IDLE_S}
        self._swept_at = now


def retry_after_header(wait_s: float) -> str:
    """Whole seconds, at least 1, as `Retry-After` takes them."""
    return str(max(1, math.ceil(wait_s)))
