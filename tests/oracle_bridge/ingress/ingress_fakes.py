"""An in-memory ingestor (the bridge's `Ingestor` contract without a store) and signed readings
for the ingress tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import InvalidSignature, MalformedReading, StoreUnavailable
from oracle_bridge.readings import Reading, ReadingDomain, SignedReading, from_json, to_json
from oracle_bridge.verification import verify

# anvil's first development key: a fixed device for readable failures
DEVICE = DeviceKey.from_private_key(
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
)
DOMAIN = ReadingDomain(
    chain_id=31337, verifying_contract="0x5FbDB2315678afecb367f032d93F642f64180aa3"
)
BATCH_ID = bytes.fromhex("ab" * 32)
T0 = 1_700_000_000


def signed_json(seq: int, *, key: DeviceKey = DEVICE) -> bytes:
    """The JSON bytes of reading `seq` of `key`'s device, signed for `DOMAIN`."""
    reading = Reading(
        device=key.address,
        batch_id=BATCH_ID,
        seq=seq,
        timestamp=T0 + 60 * seq,
        temp_milli_c=5000,
        humidity_permille=500,
    )
    return to_json(key.sign(reading, domain=DOMAIN)).encode()


@dataclass(frozen=True)
class FakeResult:
    status: str
    reason: str | None = None
    device: str | None = None
    seq: int | None = None


@dataclass
class FakeIngestor:
    """Parses, verifies (when given a domain), deduplicates on (device, seq), dead-letters the rest.

    `fail_times` makes the next calls raise `StoreUnavailable` (storing nothing of their
    batch); a reading in `poison` makes every call holding it raise `RuntimeError` (a fault
    of the bridge); `gate`, when set, makes every call wait for it before deciding. Every
    reading handed over is recorded, in order, in `calls`; `dead_letter` adds to
    `dead_letters`.
    """

    domain: ReadingDomain | None = None
    max_message_bytes: int = 4096
    fail_times: int = 0
    poison: set[bytes] = field(default_factory=set)
    gate: threading.Event | None = None
    calls: list[tuple[bytes, str]] = field(default_factory=list)
    # The size of each batch handed over, in order.
    batches: list[int] = field(default_factory=list)
    stored: dict[tuple[str, int], SignedReading] = field(default_factory=dict)
    dead_letters: list[tuple[bytes, str]] = field(default_factory=list)
    returned: list[FakeResult] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def accept(self, raw: bytes, *, source: str) -> FakeResult:
        return self.accept_many([raw], source=source)[0]

    def accept_many(
        self, raws: Sequence[bytes], *, source: str | Sequence[str]
    ) -> list[FakeResult]:
        """All or nothing, like the bridge's one transaction per batch."""
        sources = [source] * len(raws) if isinstance(source, str) else list(source)
        with self._changed:
            self.calls.extend(zip(raws, sources, strict=True))
            self.batches.append(len(raws))
            self._changed.notify_all()
        if self.gate is not None:
            self.gate.wait()
        with self._changed:
            if self.fail_times:
                self.fail_times -= 1
                raise StoreUnavailable("the store is down")
            if self.poison.intersection(raws):
                raise RuntimeError("a fault of the bridge on a poison message")
            results = [self._decide(raw) for raw in raws]
            self.returned.extend(results)
            self._changed.notify_all()
            return results

    def dead_letter(self, raw: bytes, *, source: str, reason: str) -> None:
        with self._changed:
            self.dead_letters.append((raw, reason))
            self._changed.notify_all()

    def _decide(self, raw: bytes) -> FakeResult:
        if len(raw) > self.max_message_bytes:
            return self._dead_letter(raw, f"message of {len(raw)} bytes is over the limit")
        try:
            signed = from_json(raw)
            if self.domain is not None:
                verify(signed, domain=self.domain)
        except (MalformedReading, InvalidSignature) as exc:
            return self._dead_letter(raw, str(exc))
        key = (signed.reading.device, signed.reading.seq)
        status = "duplicate" if key in self.stored else "accepted"
        self.stored.setdefault(key, signed)
        return FakeResult(status, None, *key)

    def _dead_letter(self, raw: bytes, reason: str) -> FakeResult:
        self.dead_letters.append((raw, reason))
        return FakeResult("rejected", reason)

    def wait_until(self, condition: Callable[[FakeIngestor], bool], timeout_s: float = 10) -> None:
        """Block until `condition(self)` holds; fail the test after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not condition(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out: {len(self.calls)} calls, {len(self.returned)} returned"
                    )
                self._changed.wait(remaining)
