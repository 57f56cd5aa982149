"""Anchoring windows: send the pending ones, record their receipts, and find by its
`ReadingsAnchored` log a window the chain holds already, so none is anchored twice."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import cast

from sqlalchemy import bindparam, update
from sqlmodel import col, select

from ledger_client.chain import rpc
from ledger_client.db import for_writing, table_of
from ledger_client.errors import ContractRevert
from oracle_bridge.anchors import (
    READINGS_ANCHORED_TOPIC,
    anchor_gas_bound,
    decode_readings_anchored,
    encode_anchor_readings,
)
from oracle_bridge.store import (
    ReadingWindow,
    WindowStatus,
    reading_session,
    writing,
)
from oracle_bridge.submitter.outbox import OutboxSender
from oracle_bridge.submitter.report import SubmitReport

log = logging.getLogger(__name__)
_WINDOW = table_of(ReadingWindow)

# The window, or part of it, is anchored already: found by its log, never sent again.
ALREADY_ANCHORED = "ColdChainComplianceWindowAlreadyAnchored"
# Transactions sent in one JSON-RPC batch.
SEND_GROUP = 16


class WindowAnchoring(OutboxSender):
    """Sends and settles the window outbox."""

    def _resolve_sent_windows(self, report: SubmitReport, *, excluding: set[int | None]) -> None:
        """Record the receipts of the windows sent before, but those in `excluding`."""
        with reading_session(self.engine) as session:
            sent = session.scalars(
                select(ReadingWindow).where(ReadingWindow.status == WindowStatus.SENT)
            ).all()
        sent = [w for w in sent if w.id not in excluding]
        if sent:
            self._settle_windows(sent, self._receipts([w.tx_hash for w in sent], wait=False))
            report.windows_anchored += sum(1 for w in sent if w.status == WindowStatus.ANCHORED)
            report.awaiting_receipts += sum(1 for w in sent if w.status == WindowStatus.SENT)

    def _anchor_pending_windows(self, report: SubmitReport) -> list[ReadingWindow]:
        """Send the pending windows' anchorings (recorded SENT); the windows sent."""
        with reading_session(self.engine) as session:
            pending = session.scalars(
                select(ReadingWindow)
                .where(ReadingWindow.status == WindowStatus.PENDING)
                .order_by(col(ReadingWindow.id))
                .limit(self.max_windows_per_pass)
            ).all()
        attempted = [w for w in pending if w.send_attempted_block is not None]
        if attempted:
            if self._transactions_in_flight():
                # An earlier send may still land: look for it once it has, and keep the
                # later windows of its pair behind it (the contract takes a pair's in order).
                held = {(w.batch_id, w.device) for w in attempted}
                pending = [
                    w
                    for w in pending
                    if w.send_attempted_block is None and (w.batch_id, w.device) not in held
                ]
            else:
                # Nothing of ours is pending: the node's count is the next nonce, also when it
                # lost what we sent (a restart drops its pool) or a send failed half way.
                self.sender.nonces.resync()
                found = self._mark_found_anchorings(attempted)
                report.windows_anchored += len(found)
                pending = [w for w in pending if w.id not in found]
        if not pending:
            return []
        calls = []
        for window in pending:
            data = encode_anchor_readings(
                batch_id=window.batch_id,
                merkle_root=window.merkle_root,
                first_seq=window.first_seq,
                last_seq=window.last_seq,
                packed=window.packed,
            )
            calls.append((data, anchor_gas_bound(data)))
        # One simulated call reveals a missing role or the pause before anything is sent.
        try:
            self.sender.estimate_gas(self.address, calls[0][0], context="anchorReadings")
        except ContractRevert as exc:
            if exc.error != ALREADY_ANCHORED:
                raise
            # Anchored by a send this database has no record of (another sender): found by
            # its log, from the deployment on; until then nothing of its pair goes out.
            window = pending[0]
            log.warning("window %s is anchored already; looking for its log", window.id)
            window.send_attempted_block = self.deploy_block
            self._update_windows([{"send_attempted_block": self.deploy_block, "window": window.id}])
            report.windows_anchored += len(self._mark_found_anchorings([window]))
            return []
        head = self.w3.eth.block_number
        with writing(self.engine) as session:
            if self.lease is not None and not self.lease.held_in(session.connection()):
                log.warning("the submitter lease passed to another instance; not sending")
                return []
            session.execute(
                update(ReadingWindow)
                .where(
                    col(ReadingWindow.id).in_([w.id for w in pending]),
                    col(ReadingWindow.send_attempted_block).is_(None),
                )
                .values(send_attempted_block=head)
            )
        for start in range(0, len(pending), SEND_GROUP):
            group = pending[start : start + SEND_GROUP]
            hashes = self.sender.send_many(
                self.address, calls[start : start + SEND_GROUP], context="anchorReadings"
            )
            for window, tx_hash in zip(group, hashes, strict=True):
                window.status, window.tx_hash = WindowStatus.SENT, tx_hash
            self._update_windows(
                [{"status": WindowStatus.SENT, "tx_hash": w.tx_hash, "window": w.id} for w in group]
            )
            report.windows_sent += len(group)
        return list(pending)

    def _settle_windows(
        self, windows: Sequence[ReadingWindow], receipts: dict[str, dict | None]
    ) -> None:
        """Record what the receipts say: anchored, reverted (pending again) or unknown."""
        held = self.sender.held_by_node(
            [w.tx_hash for w in windows if w.tx_hash and receipts.get(w.tx_hash) is None]
        )
        changes: list[dict[str, object]] = []
        dropped: list[int] = []
        for window in windows:
            receipt = receipts.get(window.tx_hash or "")
            status: WindowStatus
            values: dict[str, object]
            if receipt is None:
                if window.tx_hash in held:
                    continue
                log.warning("anchoring %s was dropped by the node; resending", window.tx_hash)
                status, values = WindowStatus.PENDING, {"tx_hash": None}
                dropped.append(cast(int, window.id))
            elif int(receipt["status"], 16) == 1:
                status = WindowStatus.ANCHORED
                values = {"block_number": self._note_block(receipt)}
            else:
                log.warning("anchoring %s reverted; the window is pending again", window.tx_hash)
                status, values = WindowStatus.PENDING, {}
            changes.append({"status": status, **values, "window": window.id})
            window.status = status
        self._update_windows(changes)
        if dropped:
            self.sender.nonces.resync()
            self._lost(windows=dropped, why="the node dropped their transactions")

    def _update_windows(self, changes: Sequence[dict[str, object]]) -> None:
        """Apply `changes` (new column values and the `window` id each) in one transaction:
        one statement per set of columns changed, executed for all its windows at once."""
        shapes: dict[tuple[str, ...], list[dict[str, object]]] = {}
        for change in changes:
            columns = tuple(sorted(key for key in change if key != "window"))
            shapes.setdefault(columns, []).append(change)
        if not shapes:
            return
        with for_writing(self.engine).begin() as connection:
            for columns, rows in shapes.items():
                statement = (
                    update(_WINDOW)
                    .where(_WINDOW.c.id == bindparam("window"))
                    .values({column: bindparam(column) for column in columns})
                )
                connection.execute(statement, rows)

    def _mark_found_anchorings(self, windows: Sequence[ReadingWindow]) -> set[int]:
        """Mark ANCHORED the windows a `ReadingsAnchored` log already records; their ids."""
        wanted = {(w.batch_id, w.device, w.first_seq, w.merkle_root): w for w in windows}
        start = min(w.send_attempted_block or 0 for w in windows)
        head = self.w3.eth.block_number
        found: dict[int, tuple[str, int]] = {}
        for chunk_start in range(start, head + 1, self.log_chunk_blocks):
            query = {
                "address": self.address,
                "topics": [READINGS_ANCHORED_TOPIC],
                "fromBlock": hex(chunk_start),
                "toBlock": hex(min(chunk_start + self.log_chunk_blocks - 1, head)),
            }
            logs = cast(list[dict], rpc(self.w3, "eth_getLogs", [query]))
            for raw in logs:
                anchored = decode_readings_anchored(raw)
                if anchored is None:
                    continue
                self._block_hashes[anchored.block_number] = raw["blockHash"]
                key = (anchored.batch_id, anchored.device, anchored.first_seq, anchored.merkle_root)
                window = wanted.get(key)
                # (A stored window always has its id.)
                if window is not None and window.id is not None and window.id not in found:
                    found[window.id] = (anchored.tx_hash, anchored.block_number)
        if found:
            with writing(self.engine) as session:
                for window_id, (tx_hash, block) in found.items():
                    session.execute(
                        update(ReadingWindow)
                        .where(col(ReadingWindow.id) == window_id)
                        .values(status=WindowStatus.ANCHORED, tx_hash=tx_hash, block_number=block)
                    )
            log.info("%d window(s) were already anchored; not sending them again", len(found))
        return set(found)
