"""Capture of a planned EPCIS document (`epcis.capture_plan`): the chain's side.

Everything the contract would refuse is checked first, per lot and item, so a refused
document names the lot and the missing right and sends nothing: whether the organization
may write each existing batch, whether one is quarantined, recalled or destroyed, and
whether it holds the company prefix of each new one. Then new lots and items are created
(by their GTIN's prefix holder: this organization) and the events are filed under every
lot and item they name (`LedgerWriter.record_filed_events`; one naming none, under the
organization itself), the contract checking each batch again.

On the embedded dev chain only, `prefix_governor` (the chain's governor) first assigns the
prefixes no member owns to the capturing organization, so any document can be tried out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ledger_client.epcis.capture_plan import CapturePlan
from ledger_client.errors import LedgerError
from ledger_client.identifiers import DigitalLink
from ledger_client.ledger import AnchoredEvents, FiledEvent, LedgerWriter
from ledger_client.lifecycle import BatchKind, BatchStatus, EventKind
from ledger_client.reads import ReadBatch

_log = logging.getLogger(__name__)

_BATCH_KIND = {"lot": BatchKind.LOT, "item": BatchKind.ITEM}
# What a quarantined or recalled batch still takes (IProvenanceLedger.EventKind).
_ALLOWED_WHEN_HELD = frozenset({EventKind.INSPECTION, EventKind.DESTRUCTION})


class CaptureRefused(LedgerError):
    """The chain would refuse a captured document; the message names the lot and why.
    Nothing was sent."""


@dataclass(frozen=True)
class Captured:
    """What a capture put on chain: the lots and items it created and its events' ids."""

    created: tuple[str, ...]
    event_ids: tuple[str, ...]
    anchored: AnchoredEvents


class Capturer:
    """Captures planned documents as the organization whose account `writer` sends from."""

    def __init__(
        self, writer: LedgerWriter, *, prefix_governor: LedgerWriter | None = None
    ) -> None:
        self.writer = writer
        self.prefix_governor = prefix_governor
        self.account = writer.sender.account.address
        self.chain_id = int(writer.w3.eth.chain_id)

    def capture(self, plan: CapturePlan) -> Captured:
        """Create the plan's new lots and items and file its events.

        Raises:
            CaptureRefused: a destruction naming no lot or item, a batch the organization
                may not write or create, or one whose status refuses an event; nothing was
                sent.
            ContractRevert, ChainUnavailable: the chain refused or did not answer later.
        """
        for position, event in enumerate(plan.events):
            if event.kind is EventKind.DESTRUCTION and not event.batches:
                raise CaptureRefused(
                    f"event {position} ({event.event_id}) destroys but names no lot or item to "
                    "destroy (ProvenanceLedgerUnfiledDestruction); nothing was captured"
                )
        # Every named batch's state in one JSON-RPC batch: a document may name hundreds.
        reads = ReadBatch()
        index = {link: reads.add(self.writer.batch_read(link.batch_id)) for link in plan.batches}
        results = reads.run(self.writer.w3)
        states = {link: results[i] for link, i in index.items()}
        new = [link for link, state in states.items() if state.status is BatchStatus.NONE]
        for link, state in states.items():
            if state.status is not BatchStatus.NONE:
                self._check_writable(link, state.status, plan)
        # One question per GTIN, not per lot or item: a document names many lots of few.
        holds = {
            gtin: self.writer.is_prefix_holder(gtin, self.account)
            for gtin in {link.gtin for link in new}
        }
        unowned = [link for link in new if not holds[link.gtin]]
        prefixes = self._prefixes_to_assign(unowned)
        # Every check passed: from here on the chain changes.
        for prefix, link in prefixes.items():
            assert self.prefix_governor is not None  # else _prefixes_to_assign refused
            _log.warning(
                "dev chain: the governor assigns the unowned company prefix %s to %s for %s",
                prefix,
                self.account,
                link.uri,
            )
            self.prefix_governor.assign_prefix(prefix, self.account)
        for link in new:
            _log.info("capture creates %s %s", link.kind, link.uri)
        if new:
            # All sent, then awaited: one block for a document's new lots, not one each.
            self.writer.create_batches(
                [(link.uri, _BATCH_KIND[link.kind], link.product_class) for link in new]
            )
        # Each event names its own copies of the links: hash each lot or item once.
        batch_ids = {link: link.batch_id for link in plan.batches}
        anchored = self.writer.record_filed_events(
            [
                FiledEvent(e.kind, e.payload, tuple(batch_ids[link] for link in e.batches))
                for e in plan.events
            ]
        )
        return Captured(
            created=tuple(link.uri for link in new),
            event_ids=tuple(e.event_id for e in plan.events),
            anchored=anchored,
        )

    def _check_writable(self, link: DigitalLink, status: BatchStatus, plan: CapturePlan) -> None:
        kinds = {e.kind for e in plan.events if link in e.batches}
        if status is BatchStatus.DESTROYED:
            raise CaptureRefused(
                f"{link.kind} {link.uri} is DESTROYED and takes no event "
                "(ProvenanceLedgerBatchDestroyed); nothing was captured"
            )
        if status in (BatchStatus.QUARANTINED, BatchStatus.RECALLED) and not kinds.issubset(
            _ALLOWED_WHEN_HELD
        ):
            raise CaptureRefused(
                f"{link.kind} {link.uri} is {status.name}: it takes only inspecting, sampling "
                "and destroying events until released (ProvenanceLedgerBatchQuarantined); "
                "nothing was captured"
            )
        if not self.writer.is_writer(link.batch_id, self.account):
            raise CaptureRefused(
                f"organization {self.account} may not write {link.kind} {link.uri}: it needs "
                "to own or hold it, or be authorized as its writer by its holder "
                "(ProvenanceLedgerNotBatchWriter); nothing was captured"
            )

    def _prefixes_to_assign(self, unowned: list[DigitalLink]) -> dict[str, DigitalLink]:
        """The company prefixes the dev governor is to assign so the organization may create
        the `unowned` lots and items, each with the first one that needs it.

        Raises:
            CaptureRefused: one is of a prefix another member owns, or no governor assigns.
        """
        prefixes: dict[str, DigitalLink] = {}
        for link in unowned:
            owner = self._prefix_owner(link.gtin)
            if owner is not None and owner.lower() == self.account.lower():
                continue  # assigned meanwhile, by a capture running beside this one
            if owner is not None or self.prefix_governor is None:
                whose = f"belongs to {owner}" if owner else "is assigned to no member"
                raise CaptureRefused(
                    f"organization {self.account} may not create {link.kind} {link.uri}: the "
                    f"company prefix of GTIN {link.gtin} {whose}; its owner creates the "
                    "batch or delegates the prefix (ProvenanceLedgerNotPrefixHolder); "
                    "nothing was captured"
                )
            # No GS1 prefix length is known from a Digital Link: claim the narrowest, the
            # 12 digits after the indicator (one product), never a whole company's range.
            prefixes.setdefault(link.gtin[1:13], link)
        return prefixes

    def _prefix_owner(self, gtin: str) -> str | None:
        for length in range(12, 5, -1):
            owner = self.writer.prefix_owner(gtin[1 : 1 + length])
            if owner is not None:
                return owner
        return None
