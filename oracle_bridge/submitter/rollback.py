"""Following the chain back: notice a head that went back or nonces the node no longer
holds, check recent records' blocks against the canonical chain, put what it lost back in
the outboxes, and clear `chain_rollback` once all of it is on chain again."""

from __future__ import annotations

import logging

from sqlalchemy import func, update
from sqlmodel import col, select

from ledger_client.chain import rpc_many
from ledger_client.db import for_writing, table_of
from oracle_bridge.store import (
    ComplianceSubmission,
    ReadingWindow,
    SubmissionStatus,
    WindowStatus,
    reading_session,
)
from oracle_bridge.submitter.outbox import CHAIN_ROLLBACK, OutboxSender

log = logging.getLogger(__name__)
_WINDOW = table_of(ReadingWindow)
_SUBMISSION = table_of(ComplianceSubmission)


class ChainFollowing(OutboxSender):
    """Checks recorded blocks against the chain and recovers what it lost."""

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
