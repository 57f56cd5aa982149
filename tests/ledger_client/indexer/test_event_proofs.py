"""An event's proof: the one filing log asked of the node (`eth_getLogs` in the indexed block,
by batch and payload hash), else the raw receipt (no web3 formatting of its logs), where
each way the chain can disagree with the read model is named; against canned node answers."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from ledger_client.epcis_query.proofs import IndexedEvent, prove_event
from ledger_client.errors import ChainRejected

LEDGER = "0x" + "ab" * 20
PAYLOAD = '{"type":"ObjectEvent"}'
PAYLOAD_HASH = "0x" + keccak(PAYLOAD.encode()).hex()
BATCH = "0x" + "01" * 32
BLOCK_HASH = "0x" + "0b" * 32


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


RECORDED = _topic("EventRecorded(bytes32,bytes32,address,uint64,uint8,uint32)")
EVENT = IndexedEvent(
    event_id="urn:uuid:1",
    batch_id=BATCH,
    payload=PAYLOAD,
    tx_hash="0x" + "0a" * 32,
    block_number=7,
    block_hash=BLOCK_HASH,
    log_index=3,
)


NO_LOGS = {"jsonrpc": "2.0", "id": 1, "result": []}


class _Provider:
    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, list]] = []

    def make_request(self, method: str, params: list) -> dict[str, Any]:
        self.asked.append((method, params))
        return self.answers[method]


class _Web3:
    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.provider = _Provider(answers)


class _Deployment:
    def address(self, name: str) -> str:
        assert name == "ProvenanceLedger"
        return LEDGER.upper().replace("0X", "0x")


def _receipt(**changes: Any) -> dict[str, Any]:
    log = {
        "address": LEDGER,
        "logIndex": hex(3),
        "topics": [RECORDED, BATCH, PAYLOAD_HASH.upper().replace("0X", "0x"), "0x" + "00" * 32],
    }
    log.update(changes.pop("log", {}))
    receipt = {"blockHash": BLOCK_HASH, "logs": [{**log, "logIndex": hex(2)}, log]}
    receipt.update(changes)
    return {"jsonrpc": "2.0", "id": 1, "result": receipt}


LOGS_QUERY = (
    "eth_getLogs",
    [
        {
            "blockHash": BLOCK_HASH,
            "address": LEDGER,
            "topics": [
                sorted(
                    {
                        RECORDED,
                        _topic("OrganizationEventRecorded(address,bytes32,uint64,uint8,uint32)"),
                    }
                ),
                BATCH,
                PAYLOAD_HASH,
            ],
        }
    ],
)


def _logs(**changes: Any) -> dict[str, Any]:
    """The node's answer to the log query: the event's filing log (with `changes`)."""
    log = {
        "address": LEDGER.upper().replace("0X", "0x"),
        "blockHash": BLOCK_HASH,
        "transactionHash": EVENT.tx_hash.upper().replace("0X", "0x"),
        "logIndex": hex(3),
        "removed": False,
        "topics": [RECORDED, BATCH, PAYLOAD_HASH, "0x" + "00" * 32],
    }
    log.update(changes)
    return {"jsonrpc": "2.0", "id": 1, "result": [log]}


def _prove(answer: dict[str, Any], logs: dict[str, Any] = NO_LOGS):
    w3 = _Web3({"eth_getLogs": logs, "eth_getTransactionReceipt": answer})
    proof = prove_event(w3, _Deployment(), EVENT)  # type: ignore[arg-type]
    assert w3.provider.asked == [LOGS_QUERY, ("eth_getTransactionReceipt", [EVENT.tx_hash])]
    return proof


def test_the_anchored_event_is_verified_by_its_log_alone() -> None:
    w3 = _Web3({"eth_getLogs": _logs()})
    proof = prove_event(w3, _Deployment(), EVENT)  # type: ignore[arg-type]

    assert w3.provider.asked == [LOGS_QUERY]
    assert (proof.verified, proof.problem) == (True, None)
    assert proof.chain_hash == PAYLOAD_HASH
    assert proof.sql_hash == PAYLOAD_HASH


def test_the_anchored_event_is_verified_from_its_receipt() -> None:
    proof = _prove(_receipt())

    assert (proof.verified, proof.problem) == (True, None)
    assert proof.chain_hash == PAYLOAD_HASH
    assert proof.sql_hash == PAYLOAD_HASH


@pytest.mark.parametrize(
    "logs",
    [
        _logs(logIndex=hex(2)),
        _logs(transactionHash="0x" + "0f" * 32),
        _logs(address="0x" + "cd" * 20),
        _logs(blockHash="0x" + "0c" * 32),
        _logs(removed=True),
        _logs(topics=[_topic("Other()"), BATCH, PAYLOAD_HASH]),
        _logs(topics=[RECORDED, "0x" + "02" * 32, PAYLOAD_HASH]),
        _logs(topics=[RECORDED, BATCH]),
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "block not found"}},
    ],
    ids=[
        "another log",
        "another transaction",
        "another contract",
        "another block",
        "removed",
        "another event",
        "another batch",
        "no hash",
        "refused",
    ],
)
def test_a_log_that_is_not_the_filing_sends_the_proof_to_the_receipt(logs) -> None:
    proof = _prove(_receipt(blockHash="0x" + "0c" * 32), logs)

    assert (proof.verified, proof.problem) == (
        False,
        "the transaction is in another block now (the chain reorganised)",
    )


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            {"jsonrpc": "2.0", "id": 1, "result": None},
            "the chain has no such transaction",
        ),
        (
            _receipt(log={"logIndex": hex(9)}),
            "log 3 of the transaction files no event on the ledger",
        ),
        (
            _receipt(log={"address": "0x" + "cd" * 20}),
            "log 3 of the transaction files no event on the ledger",
        ),
        (
            _receipt(log={"topics": [_topic("Other()"), BATCH, PAYLOAD_HASH]}),
            "log 3 of the transaction files no event on the ledger",
        ),
        (
            _receipt(blockHash="0x" + "0c" * 32),
            "the transaction is in another block now (the chain reorganised)",
        ),
        (
            _receipt(log={"topics": [RECORDED, "0x" + "02" * 32, PAYLOAD_HASH]}),
            "the log files the event under another batch or organization",
        ),
        (
            _receipt(log={"topics": [RECORDED, BATCH, "0x" + "ee" * 32]}),
            "the payload in the read model is not the one anchored",
        ),
    ],
)
def test_each_disagreement_is_named(answer: dict[str, Any], problem: str) -> None:
    proof = _prove(answer)

    assert (proof.verified, proof.problem) == (False, problem)


def test_a_refused_receipt_read_raises_chain_rejected() -> None:
    answer = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "invalid hash"}}

    with pytest.raises(ChainRejected, match="invalid hash"):
        _prove(answer)
