"""Benchmark: anchoring and indexing EPCIS events, the project's batched path vs the naive way.

Runs on a fresh local anvil (default hardfork, one block per transaction) and SQLite.
Prints progress lines, then one JSON line with the figures.

    .venv/bin/python bench/anchor_events.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eth_account import Account
from sqlalchemy import func, select
from sqlmodel import Session

from ledger_client.batching import calldata_floor_gas, calldata_standard_gas
from ledger_client.chain import connect
from ledger_client.db import make_engine
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.epcis.canonical import event_payload
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.indexer import Indexer, rebuild
from ledger_client.indexer.read_model import LedgerEvent, create_read_model
from ledger_client.ledger import EventKind, LedgerWriter
from ledger_client.local_chain import running_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender

GOVERNOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
# The naive way sends from its own account: two senders never share one account's nonces.
NAIVE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
PRE_PRAGUE = {
    "frontier",
    "homestead",
    "tangerine",
    "spuriousdragon",
    "byzantium",
    "constantinople",
    "petersburg",
    "istanbul",
    "muirglacier",
    "berlin",
    "london",
    "arrowglacier",
    "grayglacier",
    "paris",
    "merge",
    "shanghai",
    "cancun",
}
# The company prefix of GTIN 09506000134352, the benchmark lots' GTIN.
COMPANY_PREFIX = "9506000"
CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"]


def make_payloads(lot: DigitalLink, count: int) -> list[bytes]:
    """Realistic ~500-byte ObjectEvents: a shipping observation of 4 serialized items."""
    payloads = []
    for n in range(count):
        event = {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:6d0e3a8c-{n % 65536:04x}-4e5f-9a1b-{n:012x}",
            "eventTime": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00.000Z",
            "eventTimeZoneOffset": "+01:00",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "epcList": [f"https://id.gs1.org/01/{lot.gtin}/21/SN{n:07d}{k}" for k in range(2)],
            "readPoint": {"id": "https://id.gs1.org/414/9506000000001"},
            "bizLocation": {"id": "https://id.gs1.org/414/9506000000018"},
        }
        payloads.append(event_payload(event, context=CONTEXT))
    return payloads


def indexed_count(engine, lot: DigitalLink | None = None) -> int:
    query = select(func.count()).select_from(LedgerEvent)
    if lot is not None:
        query = query.where(LedgerEvent.batch_id == "0x" + lot.batch_id.hex())
    with Session(engine) as session:
        return session.exec(query).one()[0]


def naive(w3, deployment: Deployment, operator, lot: DigitalLink, payloads: list[bytes]) -> float:
    """One web3.py transaction per event, estimated, signed, sent and awaited in turn."""
    writer = LedgerWriter(TransactionSender(w3, operator), deployment)
    contract = writer.contract
    started = time.perf_counter()
    for payload in payloads:
        tx = contract.functions.recordEvents(lot.batch_id, [0], [payload]).build_transaction(
            {"from": operator.address, "nonce": w3.eth.get_transaction_count(operator.address)}
        )
        signed = operator.sign_transaction(tx)
        w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction), poll_latency=0.005
        )
    return len(payloads) / (time.perf_counter() - started)


def batched(w3, deployment, operator, lot, payloads, deployment_path: Path, db_url: str):
    """The project's path, with the indexer following the chain in its own process
    (as `provenance index run --follow` does in production)."""
    engine = make_engine(db_url)
    create_read_model(engine)
    command = [
        sys.executable,
        __file__,
        "--follow-child",
        w3.provider.endpoint_uri,
        str(deployment_path),
        db_url,
        "0x" + lot.batch_id.hex(),
        str(len(payloads)),
    ]
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline().strip() == "ready", "the indexer did not start"
        writer = LedgerWriter(TransactionSender(w3, operator), deployment)
        started = time.perf_counter()
        anchored = writer.record_events(lot.batch_id, [(EventKind.OTHER, p) for p in payloads])
        anchoring_s = time.perf_counter() - started
        follower.wait(timeout=600)
        elapsed = time.perf_counter() - started
    finally:
        follower.kill()
    assert indexed_count(engine, lot) == len(payloads), "the indexer did not catch up"
    print(
        f"  anchored in {anchoring_s:.2f}s ({len(anchored.receipts)} transactions), "
        f"indexed {elapsed - anchoring_s:.2f}s later",
        file=sys.stderr,
    )
    return len(payloads) / elapsed, anchored.gas_used


def follow_child(rpc_url: str, deployment_path: str, db_url: str, batch: str, count: str) -> None:
    engine = make_engine(db_url)
    indexer = Indexer(connect(rpc_url), Deployment.load(Path(deployment_path)), engine)
    indexer.run_once()
    print("ready", flush=True)
    lot = type("Lot", (), {"batch_id": bytes.fromhex(batch[2:])})
    while indexed_count(engine, lot) < int(count):
        if indexer.run_once().logs == 0:
            time.sleep(0.01)


def peak_indexer_mb(rpc_url: str, deployment_path: Path, db_url: str) -> float:
    """Rebuild in a child process (this script with --rebuild-child); the child's own peak
    resident memory, which it prints last (VmHWM: `ru_maxrss` would carry this process's
    peak over the child's exec)."""
    command = [sys.executable, __file__, "--rebuild-child", rpc_url, str(deployment_path), db_url]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    return float(finished.stdout.split()[-1])


def rebuild_child(rpc_url: str, deployment_path: str, db_url: str) -> None:
    rebuild(connect(rpc_url), Deployment.load(Path(deployment_path)), make_engine(db_url))
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(peak_kb / 1024)


def set_up(rpc_url: str, directory: Path):
    """Deploy on the node, give the governor OPERATOR and the lots' company prefix; returns
    what the runs need."""
    w3 = connect(rpc_url)
    deployment = deploy_contracts(w3, governor_key=GOVERNOR_KEY)
    deployment_path = directory / "deployment.json"
    deployment.save(deployment_path)
    governor = Account.from_key(GOVERNOR_KEY)
    sender = TransactionSender(w3, governor)
    MembershipClient(sender, deployment).grant_role(Role.OPERATOR, governor.address)
    writer = LedgerWriter(sender, deployment)
    writer.assign_prefix(COMPANY_PREFIX, governor.address)
    return w3, deployment, deployment_path, writer, governor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="1,000 events, 100 naive, 10,000 for memory"
    )
    parser.add_argument(
        "--rebuild-child", nargs=3, metavar=("RPC", "DEPLOYMENT", "DB"), help=argparse.SUPPRESS
    )
    parser.add_argument("--follow-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rebuild_child:
        rebuild_child(*args.rebuild_child)
        return
    if args.follow_child:
        follow_child(*args.follow_child)
        return
    events, naive_events, memory_events = (
        (1_000, 100, 10_000) if args.quick else (10_000, 500, 100_000)
    )

    with running_anvil() as chain, tempfile.TemporaryDirectory() as tmp:
        w3, deployment, deployment_path, writer, governor = set_up(chain.rpc_url, Path(tmp))
        lots = [DigitalLink.lot("09506000134352", name) for name in ("NAIVE", "BATCHED")]
        for lot in lots:
            writer.create_batch(lot.uri)

        payloads = make_payloads(lots[1], events)
        mean_size = sum(map(len, payloads)) / len(payloads)
        print(f"payloads: {events} events of {mean_size:.0f} bytes on average", file=sys.stderr)

        naive_account = Account.from_key(NAIVE_KEY)
        MembershipClient(TransactionSender(w3, governor), deployment).grant_role(
            Role.OPERATOR, naive_account.address
        )
        # The naive lot is the governor's: its owner lets the naive account record on it.
        writer.authorize_writer(lots[0].batch_id, naive_account.address)
        naive_payloads = make_payloads(lots[0], naive_events)
        naive_rate = naive(w3, deployment, naive_account, lots[0], naive_payloads)
        print(f"naive: {naive_rate:,.0f} events/s over {naive_events} events", file=sys.stderr)

        db_url = f"sqlite:///{tmp}/bench.db"
        rate, gas = batched(w3, deployment, governor, lots[1], payloads, deployment_path, db_url)
        print(f"batched: {rate:,.0f} events/s anchored and indexed", file=sys.stderr)

        hardfork = w3.provider.make_request("anvil_nodeInfo", [])["result"]["hardFork"]
        floor_of = calldata_standard_gas if hardfork.lower() in PRE_PRAGUE else calldata_floor_gas
        floor = sum(map(floor_of, payloads)) / len(payloads)
        gas_per_event = gas / len(payloads)

        rebuild_engine = make_engine(db_url)
        started = time.perf_counter()
        rebuild(w3, deployment, rebuild_engine)
        rebuilt = indexed_count(rebuild_engine)
        rebuild_rate = rebuilt / (time.perf_counter() - started)
        print(f"rebuild: {rebuild_rate:,.0f} events/s over {rebuilt} events", file=sys.stderr)

    # A chain of its own, so the figure is the indexer's for exactly `memory_events` events.
    with running_anvil() as chain, tempfile.TemporaryDirectory() as tmp:
        _, _, deployment_path, writer, _ = set_up(chain.rpc_url, Path(tmp))
        lot = DigitalLink.lot("09506000134352", "MEMORY")
        writer.create_batch(lot.uri)
        for start in range(0, memory_events, 10_000):
            chunk = make_payloads(lot, min(10_000, memory_events - start))
            writer.record_events(lot.batch_id, [(EventKind.OTHER, p) for p in chunk])
        peak_mb = peak_indexer_mb(chain.rpc_url, deployment_path, f"sqlite:///{tmp}/memory.db")
        print(f"indexer peak memory over {memory_events} events: {peak_mb:.0f} MB", file=sys.stderr)

    print(
        json.dumps(
            {
                "bench": "anchor_events",
                "events": events,
                "payload_bytes": round(mean_size),
                "events_per_s": round(rate),
                "naive_events_per_s": round(naive_rate, 1),
                "ratio": round(rate / naive_rate, 1),
                "gas_per_event": round(gas_per_event),
                "gas_floor_per_event": round(floor),
                "gas_floor_ratio": round(gas_per_event / floor, 3),
                "hardfork": hardfork,
                "rebuild_events_per_s": round(rebuild_rate),
                "indexer_peak_mb": round(peak_mb, 1),
                "indexer_peak_events": memory_events,
            }
        )
    )


if __name__ == "__main__":
    main()
