"""Ingress adapters: where signed readings enter the bridge.

Every adapter hands the raw readings it has to one `ReadingIngestor`, a batch at a time, and
acknowledges their senders only after `accept_many` returned, since by then every one of them
is stored or dead-lettered. A refusal of a reading is never a failure of `accept_many`; an
adapter that cannot tell its sender of a failure (MQTT) dead-letters a message that keeps
failing after a bounded number of tries instead of retrying it forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

IngestStatus = Literal["accepted", "duplicate", "rejected"]


class IngestOutcome(Protocol):
    """What became of one raw reading (the bridge's `IngestResult`)."""

    @property
    def status(self) -> IngestStatus: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def device(self) -> str | None: ...

    @property
    def seq(self) -> int | None: ...


class ReadingIngestor(Protocol):
    """The bridge's inbox door (`oracle_bridge.ingest.Ingestor`)."""

    def accept_many(
        self, raws: Sequence[bytes], *, source: str | Sequence[str]
    ) -> Sequence[IngestOutcome]:
        """Verify and durably store (or dead-letter) raw readings, one outcome each, in order;
        `source` is one for all or one per reading. Thread-safe.

        Raises only when nothing durable happened: `ChainUnavailable` or `StoreUnavailable`
        when the senders should retry later; `ChainRejected` when the chain refuses the
        policy's reads (the bridge's deployment record is wrong: retry once it is fixed);
        anything else is a fault that retrying the same readings may well meet again.
        """
        ...

    def dead_letter(self, raw: bytes, *, source: str, reason: str) -> None:
        """Durably keep `raw` as a dead letter with `reason`, unjudged: for a message that
        failed to ingest again and again. Raises when nothing durable happened."""
        ...


def reading_topic(prefix: str, device: str) -> str:
    """The MQTT topic a device publishes its readings to: `{prefix}/{device}`."""
    return f"{prefix}/{device}"
