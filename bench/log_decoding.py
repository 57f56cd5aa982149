"""Benchmark: decoding `EventRecorded` logs for the indexer, against web3's own decoding.

The indexer reads every log the contracts emit; `LogDecoder` decodes them from the ABI's
selectors with fixed-offset reads. The naive way is web3's `process_log` on the contract's
event, as a client that indexes with web3 alone would. Both decode the same logs in one run
and must agree on every event index.

Prints progress lines, then one JSON line with the figures.

    .venv/bin/python bench/log_decoding.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from eth_abi import encode
from eth_utils import keccak
from web3 import Web3

from ledger_client.artifacts import load_artifact
from ledger_client.indexer.decoding import LogDecoder
from ledger_client.ledger import EventKind

LEDGER = Web3.to_checksum_address("0x5fbdb2315678afecb367f032d93f642f64180aa3")
OPERATOR = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
BATCH = "0x" + keccak(text="https://id.gs1.org/01/09506000134352/10/LOT-1").hex()
SIGNATURE = "EventRecorded(bytes32,bytes32,address,uint64,uint8,uint32)"


def event_recorded_log(index: int) -> dict[str, Any]:
    """The raw JSON-RPC form of the `index`-th event's log, as `eth_getLogs` answers it."""
    return {
        "address": LEDGER,
        "topics": [
            "0x" + keccak(text=SIGNATURE).hex(),
            BATCH,
            "0x" + keccak(b"%d" % index).hex(),
            "0x" + OPERATOR[2:].rjust(64, "0"),
        ],
        "data": "0x"
        + encode(["uint64", "uint8", "uint32"], [index, EventKind.INSPECTION, 1]).hex(),
        "blockNumber": "0x1b",
        "blockHash": "0x" + "cd" * 32,
        "transactionHash": "0x" + "ab" * 32,
        "transactionIndex": "0x0",
        "logIndex": hex(index % 500),
        "removed": False,
    }


def timed(label: str, decode: Any, logs: list[dict[str, Any]]) -> tuple[float, list[int]]:
    started = time.perf_counter()
    indices = decode(logs)
    elapsed = time.perf_counter() - started
    print(f"{label}: {len(logs):,} logs in {elapsed:.3f} s", file=sys.stderr)
    return len(logs) / elapsed, indices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 logs instead of 50,000")
    count = 2_000 if parser.parse_args().quick else 50_000
    logs = [event_recorded_log(i) for i in range(count)]

    decoder = LogDecoder.for_contracts()
    event = (
        Web3()
        .eth.contract(address=LEDGER, abi=load_artifact("ProvenanceLedger").abi)
        .events.EventRecorded()
    )
    decoded_per_s, ours = timed(
        "LogDecoder", lambda raws: [decoder.decode(raw).event_index for raw in raws], logs
    )
    naive_per_s, theirs = timed(
        "web3 process_log",
        lambda raws: [event.process_log(raw)["args"]["eventIndex"] for raw in raws],
        logs,
    )
    if ours != theirs or ours != list(range(count)):
        sys.exit("the two decoders disagree")
    print(
        json.dumps(
            {
                "bench": "log_decoding",
                "logs": count,
                "logs_per_s": round(decoded_per_s),
                "naive_logs_per_s": round(naive_per_s),
                "ratio": round(decoded_per_s / naive_per_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
