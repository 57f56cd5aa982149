"""An event's proof read from the raw receipt (no web3 formatting of its logs): each way the
chain can disagree with the read model is named, against canned node answers."""

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


class _Provider:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.asked: list[tuple[str, list]] = []

    def make_request(self, method: str, params: list) -> dict[str, Any]:
        self.asked.append((method, params))
        return self.answer


class _Web3:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.provider = _Provider(answer)


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


def _prove(answer: dict[str, Any]):
    w3 = _Web3(answer)
    proof = prove_event(w3, _Deployment(), EVENT)  # type: ignore[arg-type]
    assert w3.provider.asked == [("eth_getTransactionReceipt", [EVENT.tx_hash])]
    return proof


def test_the_anchored_event_is_verified() -> None:
    proof = _prove(_receipt())

    assert (proof.verified, proof.problem) == (True, None)
    assert proof.chain_hash == PAYLOAD_HASH
    assert proof.sql_hash == PAYLOAD_HASH


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


def test_a_refused_read_raises_chain_rejected() -> None:
    answer = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "invalid hash"}}

    with pytest.raises(ChainRejected, match="invalid hash"):
        _prove(answer)
