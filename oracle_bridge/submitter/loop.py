"""The submitter's pass: anchor pending windows, send due submissions, resolve what
earlier passes sent, settle receipts."""

from __future__ import annotations

from collections.abc import Sequence

from oracle_bridge.store import ComplianceSubmission, ReadingWindow, WindowStatus
from oracle_bridge.submitter.report import SubmitReport
from oracle_bridge.submitter.rollback import ChainFollowing
from oracle_bridge.submitter.submissions import ComplianceSubmissions
from oracle_bridge.submitter.windows import WindowAnchoring


class Submitter(WindowAnchoring, ComplianceSubmissions, ChainFollowing):
    """Sends the outboxes with the bridge's ORACLE account. Run it from one thread; with a
    `lease`, instances sharing the database take turns (see `oracle_bridge.lease`)."""

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
