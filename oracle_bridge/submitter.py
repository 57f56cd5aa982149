"""The outbox worker: anchors windows and submits compliance readings, exactly once.

Per (batch, device), windows are anchored and submissions sent in order, a submission only
once its window's anchoring was sent (the oracle's nonce order puts the anchoring first, so
both can land in the same block). Every send is recorded (SENT + tx hash) before its receipt
is awaited, so a restarted bridge resolves it by receipt. A window is never anchored twice:
one whose transaction is unknown is first looked for among the chain's `ReadingsAnchored`
logs, and the contract refuses a window at or below a seq it anchored for the pair (so
windows of a pair go out in order). A submission is trimmed to the readings the chain's
compliance state has not seen, so a resend after a crash cannot loop on `StaleSequence`.

The chain may lose what it took (a reorg, a node restarted from an older state or restored
from a backup): each pass compares the head and the account's pending nonce with what this
process saw and sent, and every second the blocks of recent anchorings and submissions with
the canonical chain; what the chain lost goes back to the outboxes (no record claims an
anchoring the chain does not hold), the nonce is re-read, and the `chain_rollback`
condition is raised until everything lost is on chain again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import cast

from sqlalchemy import Engine, bindparam, func, update
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
from oracle_bridge.conditions import Conditions
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
_SUBMISSION = table_of(ComplianceSubmission)

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
# The window, or part of it, is anchored already: found by its log, never sent again.
ALREADY_ANCHORED = "ColdChainComplianceWindowAlreadyAnchored"
# Transactions sent in one JSON-RPC batch.
SEND_GROUP = 16
# The condition `/healthz` reports while the bridge re-sends what the chain lost.
CHAIN_ROLLBACK = "chain_rollback"
# How often the blocks of recent anchorings and submissions are checked against the chain.
AUDIT_INTERVAL_S = 1.0
# How far below the head (or the head of the last check, if lower) records are checked.
AUDIT_DEPTH_BLOCKS = 128


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
        conditions: Conditions | None = None,
        audit_interval_s: float = AUDIT_INTERVAL_S,
        audit_depth_blocks: int = AUDIT_DEPTH_BLOCKS,
        clock: Callable[[], float] = time.monotonic,
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
        self.deploy_block = deployment.deploy_block
        # What `/healthz` reports (the bridge's; a submitter of its own otherwise).
        self.conditions = conditions or Conditions()
        self.audit_interval_s = audit_interval_s
        self.audit_depth_blocks = audit_depth_blocks
        self._clock = clock
        self._next_audit = 0.0
        # The head at the last pass, and at the last check of recorded blocks.
        self._head: int | None = None
        self._audited_head: int | None = None
        # Hashes of the blocks holding recent records, as their receipts or logs gave them.
        self._block_hashes: dict[int, str] = {}
        # Rows below these ids need no check: anchored deeper than any check reaches.
        self._audit_floor = {_WINDOW.name: 0, _SUBMISSION.name: 0}
        self._audited_low: int | None = None
        # Records the chain lost, until they are on chain again.
        self._recovering: dict[str, set[int]] = {_WINDOW.name: set(), _SUBMISSION.name: set()}

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
        self._follow_chain()
        # New work first: a quarantine's anchoring and submission go out before the pass
        # looks at what earlier passes sent.
        windows = self._anchor_pending_windows(report)
        submissions = self._send_due_submissions(report)
        self._resolve_sent_windows(report, excluding={w.id for w in windows})
        self._resolve_sent_submissions(report, excluding={s.id for s in submissions})
        if wait and (windows or submissions):
            self._settle_sent(windows, submissions, report)
        self._note_recovery()
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
            if submission.tx_hash not in self.sender.held_by_node([submission.tx_hash or ""]):
                log.warning("submission %s was dropped by the node; resending", submission.tx_hash)
                # Its nonce is free again: resend from the node's count, not after it.
                self.sender.nonces.resync()
                self._set(submission, status=SubmissionStatus.PENDING, tx_hash=None)
                self._lost(submissions=[cast(int, submission.id)], why="the node dropped it")
            return
        if int(receipt["status"], 16) == 1:
            self._set(
                submission,
                status=SubmissionStatus.CONFIRMED,
                block_number=self._note_block(receipt),
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

    def _note_block(self, receipt: dict) -> int:
        """The block number of a successful receipt, its hash remembered for the checks."""
        block = int(receipt["blockNumber"], 16)
        self._block_hashes[block] = receipt["blockHash"]
        return block

    # -- following the chain ---------------------------------------------------------------

    def _follow_chain(self) -> None:
        """Notice that the chain lost transactions of ours and put what it lost back in the
        outboxes: at once when its head went back or the node no longer holds nonces this
        process handed out, else every `audit_interval_s`."""
        head_hex, pending_hex = rpc_many(
            self.w3,
            [
                ("eth_blockNumber", []),
                ("eth_getTransactionCount", [self.sender.account.address, "pending"]),
            ],
        )
        head, pending = int(head_hex, 16), int(pending_hex, 16)
        went_back = self._head is not None and head < self._head
        nonce_behind = self.sender.nonces.ahead_of(pending)
        if went_back or nonce_behind:
            log.warning(
                "the chain went back (head %s -> %d, account's pending nonce %d%s); checking"
                " what this bridge recorded",
                self._head,
                head,
                pending,
                ", below the nonces sent" if nonce_behind else "",
            )
        self._head = head
        if went_back or nonce_behind or self._clock() >= self._next_audit:
            self._next_audit = self._clock() + self.audit_interval_s
            self._audit(head)

    def _audit(self, head: int) -> None:
        """Check the records anchored or confirmed in recent blocks against the chain: a
        record whose block is gone or no longer canonical is looked up by its receipt; one
        the chain lost goes back to PENDING, one a reorg moved gets its new block."""
        low = min(head, self._audited_head if self._audited_head is not None else self._top())
        low -= self.audit_depth_blocks
        if self._audited_low is not None and low < self._audited_low:
            # Deeper than the last check reached: rows below the floors may be in range.
            self._audit_floor = dict.fromkeys(self._audit_floor, 0)
        records = self._recent_records(low)
        self._audited_head, self._audited_low = head, low
        self._block_hashes = {b: h for b, h in self._block_hashes.items() if b >= low}
        blocks = sorted({block for *_, block in records if block <= head})
        canonical = dict(
            zip(
                blocks,
                (
                    block and block["hash"]
                    for block in rpc_many(
                        self.w3, [("eth_getBlockByNumber", [hex(b), False]) for b in blocks]
                    )
                ),
                strict=True,
            )
        )
        doubtful = [
            record
            for record in records
            if record[3] > head
            or canonical[record[3]] is None
            or self._block_hashes.get(record[3]) != canonical[record[3]]
        ]
        if not doubtful:
            return
        receipts = self._receipts([tx_hash for _, _, tx_hash, _ in doubtful], wait=False)
        lost: dict[str, list[int]] = {_WINDOW.name: [], _SUBMISSION.name: []}
        moved: list[tuple[str, int, int]] = []
        for table, row_id, tx_hash, block in doubtful:
            receipt = receipts.get(tx_hash)
            if receipt is None or int(receipt["status"], 16) != 1:
                lost[table].append(row_id)
            elif (now := self._note_block(receipt)) != block:
                moved.append((table, row_id, now))
        with for_writing(self.engine).begin() as connection:
            for table, row_id, block in moved:
                target = _WINDOW if table == _WINDOW.name else _SUBMISSION
                connection.execute(
                    update(target).where(target.c.id == row_id).values(block_number=block)
                )
            unsent = {"tx_hash": None, "block_number": None}
            if lost[_WINDOW.name]:
                connection.execute(
                    update(_WINDOW)
                    .where(_WINDOW.c.id.in_(lost[_WINDOW.name]))
                    .values(status=WindowStatus.PENDING, **unsent)
                )
            if lost[_SUBMISSION.name]:
                connection.execute(
                    update(_SUBMISSION)
                    .where(_SUBMISSION.c.id.in_(lost[_SUBMISSION.name]))
                    .values(status=SubmissionStatus.PENDING, **unsent)
                )
        if lost[_WINDOW.name] or lost[_SUBMISSION.name]:
            self.sender.nonces.resync()
            self._lost(
                windows=lost[_WINDOW.name],
                submissions=lost[_SUBMISSION.name],
                why=f"their blocks are no longer on the chain, head {head}",
            )

    def _top(self) -> int:
        """The highest block of a recorded anchoring or submission (0: none)."""
        with for_writing(self.engine).connect() as connection:
            return max(
                connection.execute(select(func.max(table.c.block_number))).scalar() or 0
                for table in (_WINDOW, _SUBMISSION)
            )

    def _recent_records(self, low: int) -> list[tuple[str, int, str, int]]:
        """(table, id, tx hash, block) of the windows anchored and submissions confirmed by
        a transaction of block `low` or later; moves each table's floor up to the lowest id
        a later check may need (such a row, or one not yet on chain)."""
        records: list[tuple[str, int, str, int]] = []
        with for_writing(self.engine).connect() as connection:
            for table, done, open_ in (
                (_WINDOW, WindowStatus.ANCHORED, [WindowStatus.PENDING, WindowStatus.SENT]),
                (
                    _SUBMISSION,
                    SubmissionStatus.CONFIRMED,
                    [SubmissionStatus.PENDING, SubmissionStatus.SENT],
                ),
            ):
                floor = self._audit_floor[table.name]
                rows = connection.execute(
                    select(table.c.id, table.c.tx_hash, table.c.block_number).where(
                        table.c.id >= floor,
                        table.c.status == done,
                        table.c.block_number >= low,
                        table.c.tx_hash.is_not(None),
                    )
                ).all()
                records += [(table.name, int(r[0]), str(r[1]), int(r[2])) for r in rows]
                first_open = connection.execute(
                    select(func.min(table.c.id)).where(
                        table.c.status.in_(open_), table.c.id >= floor
                    )
                ).scalar()
                last = connection.execute(select(func.max(table.c.id))).scalar() or 0
                self._audit_floor[table.name] = min(
                    [int(r[0]) for r in rows]
                    + ([first_open] if first_open is not None else [])
                    + [last + 1]
                )
        return records

    def _lost(
        self, *, windows: Sequence[int] = (), submissions: Sequence[int] = (), why: str
    ) -> None:
        """Note records the chain lost (already PENDING again): degraded until they are on
        chain again."""
        self._recovering[_WINDOW.name].update(windows)
        self._recovering[_SUBMISSION.name].update(submissions)
        detail = (
            f"the chain lost {len(windows)} anchoring(s) and {len(submissions)} compliance"
            f" submission(s) of this bridge ({why}); sending them again"
        )
        log.warning(detail)
        self.conditions.raise_(CHAIN_ROLLBACK, detail)

    def _note_recovery(self) -> None:
        """Clear `chain_rollback` once everything the chain lost is on it again."""
        windows, submissions = (self._recovering[t.name] for t in (_WINDOW, _SUBMISSION))
        if not (windows or submissions):
            return
        with reading_session(self.engine) as session:
            windows -= set(
                session.scalars(
                    select(ReadingWindow.id).where(
                        col(ReadingWindow.id).in_(windows),
                        ReadingWindow.status == WindowStatus.ANCHORED,
                    )
                )
            )
            submissions -= set(
                session.scalars(
                    select(ComplianceSubmission.id).where(
                        col(ComplianceSubmission.id).in_(submissions),
                        col(ComplianceSubmission.status).in_(
                            [SubmissionStatus.CONFIRMED, SubmissionStatus.FAILED]
                        ),
                    )
                )
            )
        if not (windows or submissions):
            log.info("caught up with the chain: everything it lost is on it again")
            self.conditions.clear(CHAIN_ROLLBACK)
