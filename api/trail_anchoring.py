"""The access trail against the chain: its head anchored by the node's organization
(`AccessTrail.anchor`), now or on a schedule, and the whole trail verified against every
head that organization anchored."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from api.errors import TrailError
from api.store.trail import TrailStore
from api.trail import AnchoredHead, TrailVerdict, verify_trail
from ledger_client.access_trail import AccessTrailClient

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnchorOutcome:
    """What `anchor_now` did: anchored `entries` (in `tx`), or nothing new (`tx` None)."""

    entries: int
    head: str
    tx: str | None


class TrailAnchoring:
    """The trail in `store`, anchored by the sender of `client` (the node's organization)
    and checked against its anchors logged since block `first_block`."""

    def __init__(
        self, *, store: TrailStore, client: AccessTrailClient, first_block: int, chunk_blocks: int
    ) -> None:
        self.store = store
        self.client = client
        self.organization = client.sender.account.address
        self._first_block = first_block
        self._chunk_blocks = chunk_blocks
        self._lock = threading.Lock()

    def verify(self) -> TrailVerdict:
        """Recompute the trail's chain and compare it with every head anchored on chain."""
        anchors = [
            AnchoredHead(anchor.head.hex(), anchor.entry_count, anchor.block, anchor.tx)
            for anchor in self.client.anchors(
                self.organization, first_block=self._first_block, chunk_blocks=self._chunk_blocks
            )
        ]
        return verify_trail(self.store.entries(), anchors)

    def anchor_now(self) -> AnchorOutcome:
        """Anchor the current head unless the chain holds it already. The trail is verified
        first, so a tampered trail is never anchored.

        Raises:
            TrailError: the trail fails verification (naming the first bad entry); nothing
                is sent.
        """
        with self._lock:  # one anchoring at a time: the schedule and a manual one
            verdict = self.verify()
            if not verdict.intact:
                raise TrailError(f"the trail was not anchored: {verdict.problem}")
            head = self.store.head()
            _, anchored = self.client.latest(self.organization)
            if head.count <= anchored:
                return AnchorOutcome(head.count, head.hash, None)
            receipt = self.client.anchor(bytes.fromhex(head.hash), head.count)
            return AnchorOutcome(head.count, head.hash, receipt.tx_hash)


class TrailAnchorSchedule:
    """Anchors the trail every `interval_s` seconds on a thread of its own until `stop`;
    a failed anchoring is logged and tried again at the next turn."""

    def __init__(self, anchoring: TrailAnchoring, *, interval_s: float) -> None:
        self._anchoring = anchoring
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trail-anchoring", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                outcome = self._anchoring.anchor_now()
            except Exception:
                _log.exception("anchoring the access trail failed; trying again next time")
                continue
            if outcome.tx is not None:
                _log.info("access trail anchored: %d entries, tx %s", outcome.entries, outcome.tx)
