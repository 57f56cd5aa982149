"""Events filed under every lot and item they name, until `LedgerWriter.record_filed_events`
(branch `filing`) anchors one event under several batches in one contract call.

`FiledEvent` has that interface's shape. `PrimaryBatchFiling` anchors each event under the
first batch it names with today's `record_events`, after the caller has checked every other
batch it names (`ledger_client.capture` does); it refuses an event naming no lot or item,
which the filing contract will anchor under the sender's organization.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby

from ledger_client.errors import LedgerError
from ledger_client.ledger import AnchoredEvents, LedgerWriter
from ledger_client.lifecycle import EventKind


@dataclass(frozen=True)
class FiledEvent:
    kind: EventKind
    payload: bytes  # the event's canonical JSON
    batch_ids: tuple[bytes, ...]  # every lot/item it names; () = under the sender's organization


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
