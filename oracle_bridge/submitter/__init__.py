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

Its parts, one job each: `loop` (the pass), `report` (its report, the backoff), `windows`
(anchoring windows), `submissions` (compliance submissions), `rollback` (following the
chain back) and `outbox` (the state they share: receipts, the nonce, what the chain lost).
"""

from oracle_bridge.submitter.loop import Submitter
from oracle_bridge.submitter.outbox import AUDIT_DEPTH_BLOCKS, AUDIT_INTERVAL_S, CHAIN_ROLLBACK
from oracle_bridge.submitter.report import Backoff, SubmitReport
from oracle_bridge.submitter.submissions import ALREADY_SUBMITTED, PERMANENT_REFUSALS
from oracle_bridge.submitter.windows import ALREADY_ANCHORED, SEND_GROUP

__all__ = [
    "ALREADY_ANCHORED",
    "ALREADY_SUBMITTED",
    "AUDIT_DEPTH_BLOCKS",
    "AUDIT_INTERVAL_S",
    "CHAIN_ROLLBACK",
    "PERMANENT_REFUSALS",
    "SEND_GROUP",
    "Backoff",
    "SubmitReport",
    "Submitter",
]
