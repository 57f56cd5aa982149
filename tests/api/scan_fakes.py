"""An in-memory catalogue of the read model for the resolver's and scan page's tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.scan.record import ScanRecord
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.catalogue import RecordedBatch


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
