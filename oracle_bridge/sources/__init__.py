"""Ingress adapters: where signed readings enter the bridge.

Every adapter hands each raw reading to one `ReadingIngestor` and acknowledges its sender
only after `accept` returned, since by then the reading is stored or dead-lettered.
"""

from __future__ import annotations

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

    def accept(self, raw: bytes, *, source: str) -> IngestOutcome:
        """Verify and durably store (or dead-letter) one raw reading; thread-safe.

        Raises only when nothing durable happened: the sender must retry.
        """
        ...


def reading_topic(prefix: str, device: str) -> str:
    """The MQTT topic a device publishes its readings to: `{prefix}/{device}`."""
    return f"{prefix}/{device}"
