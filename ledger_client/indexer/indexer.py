"""The event indexer: chain logs → read model, checkpointed, idempotent, reorg-safe.

Each chunk of blocks is written with its block hashes and the new checkpoint in one
database transaction, so a crash at any point leaves the read model at a chunk
boundary and a restart resumes at checkpoint + 1. Before every run the stored
checkpoint's hash is compared with the node's; when they differ, rows above the
newest block the node still agrees with are deleted and indexing resumes there.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col, select
from web3 import Web3

from ledger_client.chain import rpc, rpc_many
from ledger_client.db import for_writing, insert_rows, table_of
from ledger_client.deployment import Deployment
from ledger_client.errors import ChainRejected, LedgerError
from ledger_client.indexer.decoding import (
    BatchStatusChanged,
    CustodyTransferred,
    DecodedLog,
    EventRecorded,
    ExcursionAcknowledged,
    LogDecoder,
)
from ledger_client.indexer.event_rows import event_rows
from ledger_client.indexer.links import link_genealogy, links_missing
from ledger_client.indexer.log_rows import append_rows, custody_row
from ledger_client.indexer.payloads import payloads_from_transaction
from ledger_client.indexer.read_model import (
    LOG_TABLES,
    Batch,
    Checkpoint,
    CustodyTransfer,
    EpcisEvent,
    IndexedBlock,
    LedgerEvent,
    create_read_model,
    drop_read_model,
)
from ledger_client.indexer.trace import genealogy_missing

log = logging.getLogger(__name__)

# First window of a run; it then adapts to the log density, up to `chunk_blocks`.
INITIAL_WINDOW_BLOCKS = 64
# Transactions fetched per JSON-RPC batch (each may carry ~120 kB of calldata).
TRANSACTIONS_PER_REQUEST = 50
# Stored block hashes compared with the node's per request while looking for a fork point.
HASHES_PER_REQUEST = 64
# A chunk the chain reorganised under is retried this many times before giving up.
MAX_FORK_RETRIES = 5
# How nodes word "this eth_getLogs result is too large" (geth, Besu, Nethermind, Erigon, providers).
_TOO_LARGE_MARKERS = (
    "-32005",
    "too large",
    "too many",
    "more than",
    "exceed",
    "limit",
    "response size",
    "timeout",
)


class IndexerError(LedgerError):
    """The indexer cannot go on; the message says what to do."""


class _ChunkForked(Exception):
    """The chain was reorganised while a chunk was being read; the chunk is discarded."""


@dataclass(frozen=True)
class IndexProgress:
    """What one `run_once` did."""

    start_block: int
    checkpoint: int
    head: int
    logs: int
    events: int
    rewound_to: int | None
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Chunk:
    start: int
    end: int
    end_hash: str
    rows: dict[type[SQLModel], list[dict[str, Any]]]
    row_blocks: dict[int, str]  # number -> hash of each block that produced rows
    logs: int


class Indexer:
    """Indexes the ledger's and the membership's logs into the read model at `engine`.

    `confirmations` keeps the last blocks out of the read model until they are that
    deep; `chunk_blocks` caps the blocks per `eth_getLogs`, and `max_logs_per_chunk`
    the logs held in memory and written per transaction.
    """

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        engine: Engine,
        *,
        confirmations: int = 0,
        chunk_blocks: int = 2_000,
        max_logs_per_chunk: int = 10_000,
    ) -> None:
        if confirmations < 0 or chunk_blocks < 1 or max_logs_per_chunk < 1:
            raise ValueError("confirmations must be >= 0, chunk_blocks and max_logs_per_chunk >= 1")
        self.w3 = w3
        self.deployment = deployment
        self.engine = for_writing(engine)
        self.confirmations = confirmations
        self.chunk_blocks = chunk_blocks
        self.max_logs_per_chunk = max_logs_per_chunk
        self.ledger_address = deployment.address("ProvenanceLedger").lower()
        self.membership_address = deployment.address("Membership").lower()
        # The cold-chain rule's ExcursionQuarantine logs are the evidence of its quarantines,
        # CredentialRegistry's SubjectBound logs which DIDs name which lots; a deployment
        # record without either still indexes the rest.
        self._addresses = [self.ledger_address, self.membership_address]
        for optional in ("ColdChainCompliance", "CredentialRegistry"):
            address = deployment.addresses.get(optional)
            self._addresses += [address.lower()] if address else []
        self.checkpoint_name = f"{deployment.chain_id}:{self.ledger_address}"
        self._decoder = LogDecoder.for_contracts()
        if self._decoder.record_events_selector is None:
            raise IndexerError(
                "the ProvenanceLedger ABI has no recordEvents: rebuild the artifacts"
            )
        self._window = min(chunk_blocks, INITIAL_WINDOW_BLOCKS)

    # -- running ------------------------------------------------------------------------

    def run_once(self) -> IndexProgress:
        """Index every block up to head − confirmations; returns what was done."""
        started = time.monotonic()
        rewound_to: int | None = None
        logs = events = 0
        first_block: int | None = None
        for _ in range(MAX_FORK_RETRIES):
            rewind = self._rewind_if_forked()
            rewound_to = rewind if rewind is not None else rewound_to
            head = self._head()
            try:
                for chunk in self._chunks(head - self.confirmations):
                    first_block = chunk.start if first_block is None else first_block
                    self._commit(chunk)
                    logs += chunk.logs
                    events += len(chunk.rows[LedgerEvent])
                break
            except _ChunkForked as exc:
                log.warning("the chain reorganised during indexing (%s); checking again", exc)
        else:
            raise IndexerError(
                f"the chain kept reorganising under the indexer {MAX_FORK_RETRIES} times; "
                "is the node syncing? raise `confirmations` or retry later"
            )
        checkpoint = self._load_checkpoint()
        last = checkpoint.block_number if checkpoint else self.deployment.deploy_block - 1
        progress = IndexProgress(
            start_block=first_block if first_block is not None else last + 1,
            checkpoint=last,
            head=head,
            logs=logs,
            events=events,
            rewound_to=rewound_to,
            seconds=time.monotonic() - started,
        )
        if logs:
            log.info(
                "indexed %d logs (%d events) in blocks %d..%d, %.0f events/s",
                logs,
                events,
                progress.start_block,
                last,
                progress.events_per_second,
            )
        return progress

    # -- reading the chain ----------------------------------------------------------------

    def _chunks(self, target: int) -> Iterator[_Chunk]:
        checkpoint = self._load_checkpoint()
        start = checkpoint.block_number + 1 if checkpoint else self.deployment.deploy_block
        # The block each chunk must still sit on: the last one written before it.
        parent_hash = checkpoint.block_hash if checkpoint else None
        while start <= target:
            end = min(start + self._window - 1, target)
            try:
                raw_logs = self._get_logs(start, end)
            except ChainRejected as exc:
                if not _is_too_large(exc) or end == start:
                    raise
                self._window = max(1, (end - start + 1) // 2)
                log.info("eth_getLogs over %d blocks refused, halving: %s", end - start + 1, exc)
                continue
            raw_logs, end = self._cap(raw_logs, start, end)
            chunk = self._read_chunk(start, end, raw_logs, parent_hash)
            yield chunk
            start, parent_hash = end + 1, chunk.end_hash

    def _cap(self, raw_logs: list[dict], start: int, end: int) -> tuple[list[dict], int]:
        """Keep at most `max_logs_per_chunk` logs, cut at a block boundary; adapt the window."""
        blocks = end - start + 1
        if len(raw_logs) > self.max_logs_per_chunk:
            cut_block = int(raw_logs[self.max_logs_per_chunk]["blockNumber"], 16)
            first_block = int(raw_logs[0]["blockNumber"], 16)
            # A block is written whole, however many logs it has.
            end = cut_block - 1 if cut_block > first_block else cut_block
            raw_logs = [r for r in raw_logs if int(r["blockNumber"], 16) <= end]
            self._window = max(1, (end - start + 1) // 2)
        elif len(raw_logs) < self.max_logs_per_chunk // 4 and blocks >= self._window:
            self._window = min(self.chunk_blocks, self._window * 2)
        return raw_logs, end

    def _read_chunk(
        self, start: int, end: int, raw_logs: list[dict], parent_hash: str | None
    ) -> _Chunk:
        rows: dict[type[SQLModel], list[dict[str, Any]]] = {table: [] for table in LOG_TABLES}
        block_hashes: dict[int, str] = {}
        recorded: dict[str, list[EventRecorded]] = defaultdict(list)
        transfers: list[CustodyTransferred] = []
        timed_logs: list[DecodedLog] = []
        for raw in raw_logs:
            record = self._decoder.decode(raw)
            if record is None:
                continue
            block_hashes[record.ref.block_number] = record.ref.block_hash
            if isinstance(record, EventRecorded):
                recorded[record.ref.tx_hash].append(record)
            elif isinstance(record, CustodyTransferred):
                transfers.append(record)
            elif isinstance(record, BatchStatusChanged | ExcursionAcknowledged):
                timed_logs.append(record)
            else:
                append_rows(rows, record)
        # Custody began, a status changed, an excursion was acknowledged, and an event
        # without its own recordTime was recorded, at block time.
        timed: list[DecodedLog] = [*transfers, *timed_logs]
        timed += (e for events in recorded.values() for e in events)
        times = self._block_times({r.ref.block_number: r.ref.block_hash for r in timed})
        rows[CustodyTransfer].extend(custody_row(t, times[t.ref.block_number]) for t in transfers)
        for record in timed_logs:
            append_rows(rows, record, block_time=times[record.ref.block_number])
        for tx, events in self._transactions(recorded):
            texts = payloads_from_transaction(
                tx,
                events,
                ledger_address=self.ledger_address,
                selector=self._decoder.record_events_selector or "",
                filed_selector=self._decoder.record_filed_events_selector or "",
            )
            # An event filed under several batches has one log per batch, in log order.
            positions: set[int] = set()
            for e, text in zip(events, texts, strict=True):
                first_filing = e.position not in positions
                positions.add(e.position)
                built = event_rows(e, text, times[e.ref.block_number], first_filing=first_filing)
                for table, table_rows in built.items():
                    rows[table].extend(table_rows)
        end_hash = self._verify_unforked(start, end, block_hashes, parent_hash)
        return _Chunk(start, end, end_hash, rows, block_hashes, len(raw_logs))

    def _verify_unforked(
        self, start: int, end: int, block_hashes: dict[int, str], parent_hash: str | None
    ) -> str:
        """The end block's hash, once the chunk is known to be one piece of the node's chain.

        Read after the logs and transactions: the block under the chunk still has the hash
        written for it, and the newest block with logs still has the logs' block hash.
        """
        newest = max(block_hashes, default=None)
        numbers = [end]
        numbers += [newest] if newest is not None else []
        numbers += [start - 1] if parent_hash is not None else []
        current = self._block_hashes(numbers)
        if parent_hash is not None and current[start - 1] != parent_hash:
            raise _ChunkForked(f"block {start - 1}, under blocks {start}..{end}, changed hash")
        if newest is not None and current[newest] != block_hashes[newest]:
            raise _ChunkForked(f"block {newest} changed hash while it was read")
        end_hash = current[end]
        if end_hash is None:
            raise _ChunkForked(f"block {end} is no longer on the node")
        return end_hash

    def _transactions(
        self, recorded: dict[str, list[EventRecorded]]
    ) -> Iterator[tuple[dict, list[EventRecorded]]]:
        hashes = list(recorded)
        for i in range(0, len(hashes), TRANSACTIONS_PER_REQUEST):
            group = hashes[i : i + TRANSACTIONS_PER_REQUEST]
            txs = rpc_many(self.w3, [("eth_getTransactionByHash", [h]) for h in group])
            for tx_hash, tx in zip(group, txs, strict=True):
                events = recorded[tx_hash]
                if tx is None or (tx.get("blockHash") or "").lower() != events[0].ref.block_hash:
                    raise _ChunkForked(f"transaction {tx_hash} moved or vanished")
                yield tx, events

    def _head(self) -> int:
        return int(cast(str, rpc(self.w3, "eth_blockNumber", [])), 16)

    def _get_logs(self, start: int, end: int) -> list[dict]:
        query = {
            "fromBlock": hex(start),
            "toBlock": hex(end),
            "address": self._addresses,
            "topics": [self._decoder.topics],
        }
        return cast(list[dict], rpc(self.w3, "eth_getLogs", [query]))

    def _blocks(self, numbers: Sequence[int]) -> dict[int, dict | None]:
        """The node's header of each block number (None above its head)."""
        blocks = rpc_many(self.w3, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return dict(zip(numbers, blocks, strict=True))

    def _block_hashes(self, numbers: Sequence[int]) -> dict[int, str | None]:
        """The node's hash of each block number (None above its head)."""
        return {n: (b["hash"].lower() if b else None) for n, b in self._blocks(numbers).items()}

    def _block_times(self, expected: dict[int, str]) -> dict[int, int]:
        """The timestamp of each block, given the hash its logs carried (logs need not say
        when their block was made)."""
        times: dict[int, int] = {}
        if not expected:
            return times
        for number, block in self._blocks(sorted(expected)).items():
            if block is None or block["hash"].lower() != expected[number]:
                raise _ChunkForked(f"block {number} changed hash while it was read")
            times[number] = int(block["timestamp"], 16)
        return times

    # -- writing the read model -----------------------------------------------------------

    def _load_checkpoint(self) -> Checkpoint | None:
        with Session(self.engine) as session:
            stored = session.scalars(select(Checkpoint)).all()
            # Every batch's creation is a custody transfer: batches without any were indexed
            # before the read model kept custody, and their history would be missing.
            custody_missing = (
                bool(stored)
                and session.scalars(select(Batch.batch_id).limit(1)).first() is not None
                and session.scalars(select(CustodyTransfer.tx_hash).limit(1)).first() is None
            )
            edges_missing = bool(stored) and genealogy_missing(session)
            # Events read as EPCIS but without query rows were indexed before the query tables.
            query_rows_missing = (
                bool(stored)
                and session.scalars(
                    select(LedgerEvent.batch_id)
                    .where(col(LedgerEvent.event_type).is_not(None))
                    .where(col(LedgerEvent.event_time).is_not(None))
                    .limit(1)
                ).first()
                is not None
                and session.scalars(select(EpcisEvent.batch_id).limit(1)).first() is None
            )
        others = [c.name for c in stored if c.name != self.checkpoint_name]
        if others:
            raise IndexerError(
                f"the read model was built from another deployment ({', '.join(others)}), not "
                f"{self.checkpoint_name}: run `provenance index rebuild` or use another database"
            )
        if custody_missing:
            raise IndexerError(
                "the read model was built before it kept custody transfers, so their history "
                "would be missing: run `provenance index rebuild`"
            )
        if query_rows_missing:
            raise IndexerError(
                "the read model was built before it kept the EPCIS query tables, so queries "
                "would miss its events: run `provenance index rebuild`"
            )
        if edges_missing:
            raise IndexerError(
                "the read model was built before it kept the genealogy of EPCIS events, so "
                "traces would miss their edges: run `provenance index rebuild`"
            )
        self._link_if_missing()
        return stored[0] if stored else None

    def _link_if_missing(self) -> None:
        """Link the genealogy of a read model from before `genealogy_link`, once."""
        with Session(self.engine) as session:
            if links_missing(session):
                log.info("linking the genealogy already in the read model (once)")
                link_genealogy(session)
                session.commit()

    def _commit(self, chunk: _Chunk) -> None:
        with Session(self.engine) as session:
            previous = session.get(Checkpoint, self.checkpoint_name, with_for_update=True)
            if previous is not None and previous.block_number >= chunk.start:
                raise IndexerError(
                    f"another indexer advanced the checkpoint to {previous.block_number} "
                    f"while this one read blocks {chunk.start}..{chunk.end}; run one writer only"
                )
            connection = session.connection()
            for table, table_rows in chunk.rows.items():
                insert_rows(connection, table_of(table), table_rows)
            link_genealogy(session, since=chunk.start)
            if previous is not None:
                # The old checkpoint's block stays only if it produced rows.
                session.execute(
                    delete(IndexedBlock).where(
                        col(IndexedBlock.number) == previous.block_number,
                        col(IndexedBlock.has_rows).is_(False),
                    )
                )
            blocks = [
                {"number": n, "hash": h, "has_rows": True}
                for n, h in sorted(chunk.row_blocks.items())
            ]
            if chunk.end not in chunk.row_blocks:
                blocks.append({"number": chunk.end, "hash": chunk.end_hash, "has_rows": False})
            session.execute(insert(table_of(IndexedBlock)), blocks)
            values = {"block_number": chunk.end, "block_hash": chunk.end_hash}
            if previous is None:
                session.execute(
                    insert(table_of(Checkpoint)), [{"name": self.checkpoint_name, **values}]
                )
            else:
                session.execute(
                    update(Checkpoint)
                    .where(col(Checkpoint.name) == self.checkpoint_name)
                    .values(values)
                )
            session.commit()

    def _rewind_if_forked(self) -> int | None:
        """Undo rows from blocks the node no longer has; returns the block rewound to, if any."""
        checkpoint = self._load_checkpoint()
        if checkpoint is None:
            return None
        if (
            self._block_hashes([checkpoint.block_number])[checkpoint.block_number]
            == checkpoint.block_hash
        ):
            return None
        fork = self._fork_point(checkpoint.block_number)
        with Session(self.engine) as session:
            keep = fork[0] if fork else self.deployment.deploy_block - 1
            for table in LOG_TABLES:
                session.execute(delete(table).where(col(table.block_number) > keep))
            session.execute(delete(IndexedBlock).where(col(IndexedBlock.number) > keep))
            if fork is None:
                session.execute(
                    delete(Checkpoint).where(col(Checkpoint.name) == self.checkpoint_name)
                )
            else:
                session.execute(
                    update(Checkpoint)
                    .where(col(Checkpoint.name) == self.checkpoint_name)
                    .values(block_number=fork[0], block_hash=fork[1])
                )
            session.commit()
        log.warning(
            "chain reorganisation: checkpoint block %d (%s) is no longer canonical; "
            "deleted rows above block %d and re-indexing from there",
            checkpoint.block_number,
            checkpoint.block_hash,
            keep,
        )
        return keep

    def _fork_point(self, below: int) -> tuple[int, str] | None:
        """The newest stored block under `below` whose hash the node still has."""
        while True:
            with Session(self.engine) as session:
                stored = session.execute(
                    select(IndexedBlock.number, IndexedBlock.hash)
                    .where(col(IndexedBlock.number) < below)
                    .order_by(col(IndexedBlock.number).desc())
                    .limit(HASHES_PER_REQUEST)
                ).all()
            if not stored:
                return None
            current = self._block_hashes([number for number, _ in stored])
            for number, block_hash in stored:
                if current[number] == block_hash:
                    return number, block_hash
            below = stored[-1][0]


def rebuild(w3: Web3, deployment: Deployment, engine: Engine, **options: Any) -> IndexProgress:
    """Drop the read model and index it again from the deployment block (the chain is the truth)."""
    drop_read_model(engine)
    create_read_model(engine)
    return Indexer(w3, deployment, engine, **options).run_once()


def _is_too_large(exc: ChainRejected) -> bool:
    message = str(exc).lower()
    return any(marker in message for marker in _TOO_LARGE_MARKERS)
