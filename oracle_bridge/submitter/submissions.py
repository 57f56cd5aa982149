"""Compliance submissions: send each pair's due submission (trimmed to what the chain has
not seen) once its window's anchoring was sent, and settle receipts and refusals."""

from __future__ import annotations

import logging
from typing import cast

from sqlalchemy import update
from sqlmodel import col, select

from ledger_client.errors import ContractRevert
from oracle_bridge.store import (
    ComplianceSubmission,
    InboxReading,
    ReadingWindow,
    SubmissionStatus,
    WindowStatus,
    reading_session,
    writing,
)
from oracle_bridge.submitter.outbox import OutboxSender
from oracle_bridge.submitter.report import SubmitReport

log = logging.getLogger(__name__)

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


class ComplianceSubmissions(OutboxSender):
    """Sends and settles the submission outbox."""

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
