"""What the submitter's parts share: the database, the ORACLE sender and the compliance
contract; receipts and the account's nonce; where records landed and what the chain lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from web3 import Web3

from ledger_client.chain import chain_refusals, rpc_many
from ledger_client.db import table_of
from ledger_client.deployment import Deployment
from ledger_client.transactions import TransactionSender
from oracle_bridge.conditions import Conditions
from oracle_bridge.lease import Lease
from oracle_bridge.store import ComplianceSubmission, ReadingWindow

log = logging.getLogger(__name__)
_WINDOW = table_of(ReadingWindow)
_SUBMISSION = table_of(ComplianceSubmission)

# The condition `/healthz` reports while the bridge re-sends what the chain lost.
CHAIN_ROLLBACK = "chain_rollback"
# How often the blocks of recent anchorings and submissions are checked against the chain.
AUDIT_INTERVAL_S = 1.0
# How far below the head (or the head of the last check, if lower) records are checked.
AUDIT_DEPTH_BLOCKS = 128


class OutboxSender:
    """The state of one submitter and the chain look-ups its parts share."""

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
        self.contract = deployment.contract(self.w3, "ColdChainCompliance")
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
        with chain_refusals("ColdChainCompliance.complianceState"):
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
