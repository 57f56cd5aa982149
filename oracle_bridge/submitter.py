"""The outbox worker: anchors windows and submits compliance readings, exactly once.

Per (batch, device), windows are anchored and submissions sent in order, a submission only
once its window's anchoring was sent (the oracle's nonce order puts the anchoring first, so
both can land in the same block). Every send is recorded (SENT + tx hash) before its receipt
is awaited, so a restarted bridge resolves it by receipt. A window is never anchored twice:
one whose transaction is unknown is first looked for among the chain's `ReadingsAnchored`
logs. A submission is trimmed to the readings the chain's compliance state has not seen,
so a resend after a crash cannot loop on `StaleSequence`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import cast

from sqlalchemy import Engine, bindparam, update
from sqlmodel import col, select
from web3 import Web3

from ledger_client.artifacts import load_artifact
from ledger_client.chain import rpc, rpc_many
from ledger_client.deployment import Deployment
from ledger_client.errors import ContractRevert
from ledger_client.indexer.database import for_writing
from ledger_client.indexer.read_model import table_of
from ledger_client.transactions import TransactionSender
from oracle_bridge.anchors import (
    READINGS_ANCHORED_TOPIC,
    anchor_gas_bound,
    decode_readings_anchored,
    encode_anchor_readings,
)
from oracle_bridge.lease import Lease
from oracle_bridge.store import (
    ComplianceSubmission,
    InboxReading,
    ReadingWindow,
    SubmissionStatus,
    WindowStatus,
    reading_session,
    writing,
)

log = logging.getLogger(__name__)
_WINDOW = table_of(ReadingWindow)

# Reverts that no resend can cure: the submission is marked FAILED and the pair moves on.
PERMANENT_REFUSALS = frozenset(
    {
        "ColdChainComplianceInvalidSignature",
        "ColdChainComplianceTimestampRegression",
        "ColdChainComplianceUnknownBatch",
        "ColdChainComplianceNoRule",
        "DeviceRegistryUnknownDevice",
        "DeviceRegistryInactiveDevice",
        "DeviceRegistryNotAssigned",
        "DeviceRegistryStaleSequence",
    }
)
# The chain already holds these readings (or later ones): re-read its state, then trim.
ALREADY_SUBMITTED = "ColdChainComplianceStaleSequence"
# Transactions sent in one JSON-RPC batch.
SEND_GROUP = 16


class Backoff:
    """Exponential delays between `min_s` and `max_s` while the chain keeps failing."""

    def __init__(self, min_s: float, max_s: float) -> None:
        self.min_s = min_s
        self.max_s = max_s
        self._delay: float | None = None

    def failed(self) -> float:
        """The delay before the next attempt (doubling, bounded)."""
        self._delay = self.min_s if self._delay is None else min(self._delay * 2, self.max_s)
        return self._delay

    def succeeded(self) -> None:
        self._delay = None


@dataclass
class SubmitReport:
    """What one pass (or several) of the submitter did."""

    windows_sent: int = 0
    windows_anchored: int = 0
    submissions_sent: int = 0
    submissions_confirmed: int = 0
    submissions_failed: int = 0
    # Transactions of earlier passes still unmined when this one looked (not progress).
    awaiting_receipts: int = 0

    @property
    def progressed(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "awaiting_receipts")

    def add(self, other: SubmitReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class Submitter:
    """Sends the outboxes with the bridge's ORACLE account. Run it from one thread; with a
    `lease`, instances sharing the database take turns (see `oracle_bridge.lease`)."""

    def __init__(
        self,
        *,
        engine: Engine,
        sender: TransactionSender,
        deployment: Deployment,
        max_windows_per_pass: int = 64,
        log_chunk_blocks: int = 2_000,
        lease: Lease | None = None,
    ) -> None:
        self.engine = engine
        # Shared database: only the lease's holder sends (None: this submitter is alone).
        self.lease = lease
        self.sender = sender
        self.w3: Web3 = sender.w3
        self.address = deployment.address("ColdChainCompliance")
        self.contract = self.w3.eth.contract(
            address=self.address, abi=load_artifact("ColdChainCompliance").abi
        )
        self.max_windows_per_pass = max_windows_per_pass
        self.log_chunk_blocks = log_chunk_blocks

    def drain(self, *, max_passes: int = 100) -> SubmitReport:
        """Run waiting passes until one makes no progress (for tests and `run_once`)."""
        total = SubmitReport()
        for _ in range(max_passes):
            report = self.run_once()
            total.add(report)
            if not report.progressed:
                break
        return total

    def run_once(self, *, wait: bool = True) -> SubmitReport:
        """One pass: anchor pending windows, send due submissions, resolve what earlier
        passes sent, then (with `wait`) wait for the receipts of what it sent and record
        them. Without `wait` the pass returns at once and a later pass records the receipts,
        so a running bridge sends what becomes due (a quarantine) while earlier transactions
        are being mined.

        Raises whatever the chain raises (unreachable node, an unexpected revert such as a
        missing ORACLE role or the consortium's pause); the caller backs off and retries.
        """
        report = SubmitReport()
        if self.lease is not None and not self.lease.hold():
            return report
        # New work first: a quarantine's anchoring and submission go out before the pass
        # looks at what earlier passes sent.
        windows = self._anchor_pending_windows(report)
        submissions = self._send_due_submissions(report)
        self._resolve_sent_windows(report, excluding={w.id for w in windows})
        self._resolve_sent_submissions(report, excluding={s.id for s in submissions})
        if wait and (windows or submissions):
            self._settle_sent(windows, submissions, report)
        return report

    def _settle_sent(
        self,
        windows: Sequence[ReadingWindow],
        submissions: Sequence[ComplianceSubmission],
        report: SubmitReport,
    ) -> None:
        """Wait for the receipts of this pass's transactions and record what they say."""
        receipts = self._receipts(
            [w.tx_hash for w in windows] + [s.tx_hash for s in submissions], wait=True
        )
        if windows:
            self._settle_windows(windows, receipts)
            report.windows_anchored += sum(1 for w in windows if w.status == WindowStatus.ANCHORED)
        for submission in submissions:
            self._settle_submission(submission, receipts.get(submission.tx_hash or ""), report)
        reverted = [
            w.tx_hash
            for w in windows
            if w.tx_hash is not None
            and w.status == WindowStatus.PENDING
            and receipts.get(w.tx_hash) is not None
        ]
        if reverted:
            # Recorded above; now raise the decoded revert so the caller backs off.
            self.sender.wait(reverted[:1], context="anchorReadings")

    # -- windows ---------------------------------------------------------------------------

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
                # An earlier send may still land: look for it once it has.
                pending = [w for w in pending if w.send_attempted_block is None]
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
        self.sender.estimate_gas(self.address, calls[0][0], context="anchorReadings")
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
        known = self._transactions_known(
            [w.tx_hash for w in windows if receipts.get(w.tx_hash or "") is None]
        )
        changes: list[dict[str, object]] = []
        for window in windows:
            receipt = receipts.get(window.tx_hash or "")
            status: WindowStatus
            values: dict[str, object]
            if receipt is None:
                if window.tx_hash in known:
                    continue
                log.warning("anchoring %s was dropped by the node; resending", window.tx_hash)
                status, values = WindowStatus.PENDING, {"tx_hash": None}
            elif int(receipt["status"], 16) == 1:
                status = WindowStatus.ANCHORED
                values = {"block_number": int(receipt["blockNumber"], 16)}
            else:
                log.warning("anchoring %s reverted; the window is pending again", window.tx_hash)
                status, values = WindowStatus.PENDING, {}
            changes.append({"status": status, **values, "window": window.id})
            window.status = status
        self._update_windows(changes)

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

    # -- submissions -----------------------------------------------------------------------

    def _resolve_sent_submissions(
        self, report: SubmitReport, *, excluding: set[int | None]
    ) -> None:
        """Record the receipts of the submissions sent before, but those in `excluding`."""
        with reading_session(self.engine) as session:
            sent = session.scalars(
                select(ComplianceSubmission).where(
                    ComplianceSubmission.status == SubmissionStatus.SENT
                )
            ).all()
        sent = [s for s in sent if s.id not in excluding]
        if sent:
            receipts = self._receipts([s.tx_hash for s in sent], wait=False)
            for submission in sent:
                self._settle_submission(submission, receipts.get(submission.tx_hash or ""), report)
            unmined = [s for s in sent if receipts.get(s.tx_hash or "") is None]
            report.awaiting_receipts += len(unmined)

    def _send_due_submissions(self, report: SubmitReport) -> list[ComplianceSubmission]:
        """Send the due submissions (recorded SENT); the submissions sent."""
        sent = []
        for submission in self._due_submissions():
            readings = self._unsubmitted_readings(submission)
            if not readings:
                self._set(submission, status=SubmissionStatus.CONFIRMED, resolved_from_chain=True)
                report.submissions_confirmed += 1
                continue
            data = bytes.fromhex(
                self.contract.encode_abi(
                    "submitReadings",
                    args=[
                        [
                            (
                                (
                                    r.device,
                                    r.batch_id,
                                    r.seq,
                                    r.timestamp,
                                    r.temp_milli_c,
                                    r.humidity_permille,
                                ),
                                r.signature,
                            )
                            for r in readings
                        ]
                    ],
                )[2:]
            )
            try:
                tx_hash = self.sender.send(self.address, data, context="submitReadings")
            except ContractRevert as exc:
                self._refused(submission, exc, report)
                continue
            self._set(submission, status=SubmissionStatus.SENT, tx_hash=tx_hash)
            submission.tx_hash = tx_hash
            sent.append(submission)
            report.submissions_sent += 1
        return sent

    def _due_submissions(self) -> list[ComplianceSubmission]:
        """Per (batch, device), its oldest pending submission, once its window's anchoring
        was sent and nothing of the pair's submissions is in flight."""
        with reading_session(self.engine) as session:
            open_rows = session.scalars(
                select(ComplianceSubmission)
                .where(
                    col(ComplianceSubmission.status).in_(
                        [SubmissionStatus.PENDING, SubmissionStatus.SENT]
                    )
                )
                .order_by(col(ComplianceSubmission.id))
            ).all()
            anchoring_sent = set(
                session.scalars(
                    select(ReadingWindow.id).where(
                        col(ReadingWindow.id).in_({s.window_id for s in open_rows}),
                        col(ReadingWindow.status).in_([WindowStatus.SENT, WindowStatus.ANCHORED]),
                    )
                )
            )
        due, seen = [], set()
        for submission in open_rows:
            pair = (submission.batch_id, submission.device)
            if pair in seen:
                continue
            seen.add(pair)
            if (
                submission.status == SubmissionStatus.PENDING
                and submission.window_id in anchoring_sent
            ):
                due.append(submission)
        return due

    def _unsubmitted_readings(self, submission: ComplianceSubmission) -> list[InboxReading]:
        """The submission's readings the chain's compliance state has not seen yet."""
        with reading_session(self.engine) as session:
            rows = {
                row.id: row
                for row in session.scalars(
                    select(InboxReading).where(col(InboxReading.id).in_(submission.reading_ids))
                )
            }
        chain_last_seq = self._chain_last_seq(submission.batch_id, submission.device)
        return [rows[i] for i in submission.reading_ids if rows[i].seq > chain_last_seq]

    def _settle_submission(
        self, submission: ComplianceSubmission, receipt: dict | None, report: SubmitReport
    ) -> None:
        if receipt is None:
            if not self._transaction_known(submission.tx_hash):
                log.warning("submission %s was dropped by the node; resending", submission.tx_hash)
                # Its nonce is free again: resend from the node's count, not after it.
                self.sender.nonces.resync()
                self._set(submission, status=SubmissionStatus.PENDING, tx_hash=None)
            return
        if int(receipt["status"], 16) == 1:
            self._set(
                submission,
                status=SubmissionStatus.CONFIRMED,
                block_number=int(receipt["blockNumber"], 16),
            )
            report.submissions_confirmed += 1
            return
        try:
            self.sender.wait([submission.tx_hash or ""], context="submitReadings")
        except ContractRevert as exc:
            self._refused(submission, exc, report)
            return
        raise AssertionError("a reverted receipt always raises")  # pragma: no cover

    def _refused(
        self, submission: ComplianceSubmission, exc: ContractRevert, report: SubmitReport
    ) -> None:
        """A revert: stale → pending again (the next pass trims by the chain's state);
        permanent → FAILED; anything else is re-raised for the caller to back off."""
        if exc.error == ALREADY_SUBMITTED:
            self._set(submission, status=SubmissionStatus.PENDING, tx_hash=None)
            return
        if exc.error in PERMANENT_REFUSALS:
            log.error("submission %s refused by the chain: %s", submission.id, exc)
            self._set(submission, status=SubmissionStatus.FAILED, error=str(exc))
            report.submissions_failed += 1
            return
        raise exc

    def _set(self, submission: ComplianceSubmission, **values: object) -> None:
        with writing(self.engine) as session:
            session.execute(
                update(ComplianceSubmission)
                .where(col(ComplianceSubmission.id) == submission.id)
                .values(**values)
            )

    # -- chain helpers ---------------------------------------------------------------------

    def _receipts(self, tx_hashes: Sequence[str | None], *, wait: bool) -> dict[str, dict | None]:
        """Receipts by hash (None: none yet); with `wait`, polled until all are in or the
        sender's receipt timeout passes."""
        hashes = [h for h in tx_hashes if h]
        found: dict[str, dict | None] = dict.fromkeys(hashes)
        deadline = time.monotonic() + self.sender.receipt_timeout_s
        delay = 0.005
        while True:
            missing = [h for h, r in found.items() if r is None]
            if not missing:
                return found
            results = rpc_many(self.w3, [("eth_getTransactionReceipt", [h]) for h in missing])
            found.update(zip(missing, results, strict=True))
            if not wait or all(r is not None for r in found.values()):
                return found
            if time.monotonic() > deadline:
                return found
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _chain_last_seq(self, batch_id: bytes, device: str) -> int:
        """The last seq of `device` on `batch_id` the contract has evaluated (0: none)."""
        return self.contract.functions.complianceState(batch_id, device).call()[0]

    def _transaction_known(self, tx_hash: str | None) -> bool:
        return bool(tx_hash) and rpc(self.w3, "eth_getTransactionByHash", [tx_hash]) is not None

    def _transactions_known(self, tx_hashes: Sequence[str | None]) -> set[str]:
        """The transactions the node knows (mined or pending), asked in one request."""
        hashes = [h for h in tx_hashes if h]
        if not hashes:
            return set()
        found = rpc_many(self.w3, [("eth_getTransactionByHash", [h]) for h in hashes])
        return {h for h, tx in zip(hashes, found, strict=True) if tx is not None}

    def _transactions_in_flight(self) -> bool:
        """Whether the oracle account has sent transactions the chain has not mined yet."""
        address = self.sender.account.address
        pending, latest = rpc_many(
            self.w3,
            [
                ("eth_getTransactionCount", [address, "pending"]),
                ("eth_getTransactionCount", [address, "latest"]),
            ],
        )
        return int(pending, 16) > int(latest, 16)
