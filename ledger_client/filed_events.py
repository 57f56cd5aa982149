"""Events filed under the first lot or item they name, until the indexer reads what
`LedgerWriter.record_filed_events` anchors (its calldata and `OrganizationEventRecorded`).

`PrimaryBatchFiling` anchors each event under the first batch it names with
`record_events`, after the caller has checked every other batch it names
(`ledger_client.capture` does); it refuses an event naming no lot or item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby

from ledger_client.errors import LedgerError
from ledger_client.ledger import AnchoredEvents, FiledEvent, LedgerWriter


class UnfiledEvent(LedgerError):
    """An event this ledger cannot file yet (it names no lot or item)."""


class PrimaryBatchFiling:
    """Files events with `writer`, each under the first batch it names."""

    def __init__(self, writer: LedgerWriter) -> None:
        self.writer = writer

    def record_filed_events(
        self,
        events: Sequence[FiledEvent],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> AnchoredEvents:
        """Anchor `events` in order, consecutive events of one first batch together.

        Raises:
            UnfiledEvent: an event names no lot or item; nothing is sent.
            ContractRevert: the contract's custom error, as `record_events` raises it.
        """
        for position, event in enumerate(events):
            if not event.batch_ids:
                raise UnfiledEvent(
                    f"event {position} names no lot or item: this ledger files an event only "
                    "under a lot or item it names (epcList, quantityList, parentID, ...)"
                )
        receipts = []
        for batch_id, group in groupby(events, key=lambda e: e.batch_ids[0]):
            anchored = self.writer.record_events(
                batch_id, [(e.kind, e.payload) for e in group], on_progress=on_progress
            )
            receipts += anchored.receipts
        return AnchoredEvents(receipts=receipts, event_count=len(events))
