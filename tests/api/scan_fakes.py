"""An in-memory catalogue of the read model for the resolver's and scan page's tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.scan.record import ScanRecord
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.catalogue import RecordedBatch
from oracle_bridge.batch_readings import (
    DeviceSummary,
    ProofCheck,
    ReadingsPage,
    StoredReading,
    TemperatureSeries,
)


@dataclass
class Catalogue:
    """The read model's answers, held in memory."""

    records: dict[DigitalLink, ScanRecord] = field(default_factory=dict)

    def product(self, gtin: str) -> list[RecordedBatch]:
        return [
            RecordedBatch("0x" + link.batch_id.hex(), link.uri, link.kind.upper())
            for link in sorted(self.records, key=lambda link: link.uri)
            if link.gtin == gtin
        ]

    def record(self, identifier: DigitalLink) -> ScanRecord | None:
        return self.records.get(identifier)

    def change(self, identifier: DigitalLink) -> str | None:
        """The held record in words: a test changes a lot by putting another record."""
        record = self.records.get(identifier)
        return None if record is None else repr(record)


@dataclass
class Readings:
    """A bridge's readings of some lots, held in memory (what the scan page reads of them)."""

    series: dict[bytes, TemperatureSeries] = field(default_factory=dict)
    loggers: dict[bytes, list[DeviceSummary]] = field(default_factory=dict)
    stored: dict[bytes, list[StoredReading]] = field(default_factory=dict)

    def temperatures(self, batch_id: bytes) -> TemperatureSeries:
        return self.series.get(batch_id, TemperatureSeries([], None))

    def summary(self, batch_id: bytes) -> list[DeviceSummary]:
        return self.loggers.get(batch_id, [])

    def page(self, batch_id: bytes, *, offset: int, limit: int) -> ReadingsPage:
        readings = self.stored.get(batch_id, [])
        return ReadingsPage(readings[offset : offset + limit], len(readings))

    def proof(self, device: str, seq: int) -> ProofCheck:
        raise AssertionError("the scan page does not prove readings")


def warm_excursion(start: int, *, count: int = 120, step_s: int = 60) -> TemperatureSeries:
    """A 2–8 °C lot's readings: steady at 5 °C but for 40 minutes at 9.4 °C in the middle."""
    points = [
        (start + i * step_s, 9.4 if count // 3 <= i < count // 3 + 40 else 5.0)
        for i in range(count)
    ]
    return TemperatureSeries(points, (2.0, 8.0))
