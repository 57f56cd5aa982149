"""One indexed event by its `eventID`, and the proof that it is on chain as the read model
says: the anchoring transaction is read again from the node, and the `EventRecorded` log at
the indexed place must carry keccak256 of the payload the read model holds now. A payload
altered in SQL, a row moved to another log, or a block reorganised away fails the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from eth_utils import keccak
from sqlalchemy import Engine, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, select
from web3 import Web3

from ledger_client.chain import chain_refusals, rpc
from ledger_client.deployment import Deployment
from ledger_client.errors import ChainRejected
from ledger_client.indexer.read_model import EpcisEvent, LedgerEvent

_EVENT = EpcisEvent.__table__.c  # type: ignore[attr-defined]
_LEDGER = LedgerEvent.__table__.c  # type: ignore[attr-defined]
# An event filed under a batch, and one filed under its organization (naming no batch):
# either way topic 1 is the filing key the read model keeps as `batch_id`, topic 2 the hash.
FILING_TOPICS = frozenset(
    "0x" + keccak(text=signature).hex()
    for signature in (
        "EventRecorded(bytes32,bytes32,address,uint64,uint8,uint32)",
        "OrganizationEventRecorded(address,bytes32,uint64,uint8,uint32)",
    )
)


@dataclass(frozen=True)
class IndexedEvent:
    """An event's row in the read model: its payload and where the indexer found it."""

    event_id: str
    batch_id: str
    payload: str
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int


@dataclass(frozen=True)
class EventProof:
    """The read model's event against the chain now. `sql_hash` is keccak256 of the payload
    in SQL; `chain_hash` the payload hash of the log at that place on chain (None: no such
    log); `verified` whether they are equal and the log is the ledger's, of this batch, in
    the indexed block. `problem` says why not."""

    event: IndexedEvent
    sql_hash: str
    chain_hash: str | None
    verified: bool
    problem: str | None


# Columns, not ORM objects: a proof request reads one row (bench/api.py).
_FIND_EVENT = (
    core_select(
        _LEDGER.batch_id,
        _LEDGER.payload,
        _LEDGER.tx_hash,
        _LEDGER.block_number,
        _LEDGER.block_hash,
        _LEDGER.log_index,
    )
    .join(
        EpcisEvent,
        (_LEDGER.batch_id == _EVENT.batch_id) & (_LEDGER.event_index == _EVENT.event_index),
    )
    .where(_EVENT.event_id == bindparam("event_id"), _LEDGER.payload.is_not(None))
    .order_by(_LEDGER.block_number, _LEDGER.log_index)
    .limit(1)
)


def find_event(engine: Engine, event_id: str) -> IndexedEvent | None:
    """The indexed event whose `eventID` is `event_id` (the first anchored, should two
    share it), None when there is none."""
    with engine.connect() as connection:
        row = connection.execute(_FIND_EVENT, {"event_id": event_id}).first()
    if row is None:
        return None
    return IndexedEvent(
        event_id,
        batch_id=row.batch_id,
        payload=row.payload,
        tx_hash=row.tx_hash,
        block_number=row.block_number,
        block_hash=row.block_hash,
        log_index=row.log_index,
    )


def find_filed_event(engine: Engine, batch_id: str, event_index: int) -> IndexedEvent | None:
    """Event `event_index` of the history of batch `batch_id` (`0x` hex), as it was filed
    there, None when the read model holds no such event (or not its payload). Its
    `event_id` is the EPCIS eventID, or empty when the payload was not indexed as EPCIS."""
    with Session(engine) as session:
        row = session.get(LedgerEvent, (batch_id, event_index))
        if row is None or row.payload is None:
            return None
        event_id = session.exec(
            select(_EVENT.event_id)
            .where(_EVENT.event_id.is_not(None))
            .where(_EVENT.batch_id == batch_id, _EVENT.event_index == event_index)
        ).first()
    return _indexed(event_id or "", row, row.payload)


def _indexed(event_id: str, row: LedgerEvent, payload: str) -> IndexedEvent:
    return IndexedEvent(
        event_id,
        row.batch_id,
        payload,
        row.tx_hash,
        row.block_number,
        row.block_hash,
        row.log_index,
    )


def prove_event(w3: Web3, deployment: Deployment, event: IndexedEvent) -> EventProof:
    """Check `event` against the chain now: its anchoring transaction's log at the indexed
    place must be the ledger's, file it under its batch in the indexed block and carry
    keccak256 of the payload the read model holds.

    First the node is asked for just that log (`eth_getLogs` in the indexed block, of the
    ledger, with the batch and the payload hash as topics): one small answer where the
    receipt of an anchoring transaction carries a log per filed event (~1,000 → ~0.5 MB of
    JSON to write and parse per proof, bench/api.py). Only when it is not there is the
    whole receipt read, to name what disagrees.

    Raises:
        ChainRejected: the node refused the receipt's read; failures to reach it pass
            through (`CHAIN_UNREACHABLE`).
    """
    sql_hash = "0x" + keccak(event.payload.encode("utf-8")).hex()
    ledger = deployment.address("ProvenanceLedger").lower()
    if _log_found(w3, ledger, event, sql_hash):
        return EventProof(event, sql_hash, sql_hash, True, None)
    # Raw: web3 formats every log of the receipt, and an anchoring transaction has one per
    # filed event (~100 ms of a proof's ~110 for 1,000 events, bench/api.py).
    with chain_refusals("eth_getTransactionReceipt"):
        receipt = cast(dict[str, Any] | None, rpc(w3, "eth_getTransactionReceipt", [event.tx_hash]))
    if receipt is None:
        return EventProof(event, sql_hash, None, False, "the chain has no such transaction")
    log = next((e for e in receipt["logs"] if int(e["logIndex"], 16) == event.log_index), None)
    topics = [t.lower() for t in log["topics"]] if log is not None else []
    if (
        log is None
        or log["address"].lower() != ledger
        or not topics
        or topics[0] not in FILING_TOPICS
    ):
        missing = f"log {event.log_index} of the transaction files no event on the ledger"
        return EventProof(event, sql_hash, None, False, missing)
    chain_hash = topics[2]
    problem: str | None = None
    if receipt["blockHash"].lower() != event.block_hash:
        problem = "the transaction is in another block now (the chain reorganised)"
    elif topics[1] != event.batch_id:
        problem = "the log files the event under another batch or organization"
    elif chain_hash != sql_hash:
        problem = "the payload in the read model is not the one anchored"
    return EventProof(event, sql_hash, chain_hash, problem is None, problem)


def _log_found(w3: Web3, ledger: str, event: IndexedEvent, sql_hash: str) -> bool:
    """Whether the node has, in block `event.block_hash`, a filing log of the ledger for
    `event.batch_id` carrying `sql_hash`, emitted by `event.tx_hash` at `event.log_index`.
    A refusal (an unknown block, after a reorganisation) is a no: the receipt says why."""
    query = {
        "blockHash": event.block_hash,
        "address": ledger,
        "topics": [sorted(FILING_TOPICS), event.batch_id, sql_hash],
    }
    try:
        logs = cast(list[dict[str, Any]], rpc(w3, "eth_getLogs", [query]))
    except ChainRejected:
        return False
    return any(_is_filing(log, ledger, event, sql_hash) for log in logs or ())


def _is_filing(log: dict[str, Any], ledger: str, event: IndexedEvent, sql_hash: str) -> bool:
    topics = [t.lower() for t in log["topics"]]
    return (
        int(log["logIndex"], 16) == event.log_index
        and log["transactionHash"].lower() == event.tx_hash.lower()
        and log["address"].lower() == ledger
        and log.get("blockHash", event.block_hash).lower() == event.block_hash
        and not log.get("removed", False)
        and len(topics) >= 3
        and topics[0] in FILING_TOPICS
        and topics[1:3] == [event.batch_id, sql_hash]
    )
