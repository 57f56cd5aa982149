"""Benchmark: signed readings through the oracle bridge, windowed vs one anchoring per reading.

Runs on a fresh local anvil and a fresh SQLite bridge database. Measures `Ingestor.accept`
alone (one thread, readings/s), then end to end with the bridge's threads running (from
the first `accept` until every reading is in an anchored window), and the same end to end
with one-reading windows (the naive way: one `anchorReadings` transaction per reading).
Prints progress lines, then one JSON line with the figures.

    .venv/bin/python bench/bridge_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from eth_account import Account
from sqlalchemy import Engine, func, select

from ledger_client.artifacts import load_artifact
from ledger_client.chain import connect
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.hashing import keccak256
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.database import make_engine
from ledger_client.ledger import LedgerWriter
from ledger_client.local_chain import running_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.bridge import Bridge
from oracle_bridge.config import ANVIL_ORACLE_KEY, BridgeSettings
from oracle_bridge.device import DeviceKey
from oracle_bridge.policy import ChainDevicePolicy, ChainRuleSource
from oracle_bridge.readings import Reading, to_json
from oracle_bridge.store import ReadingWindow, WindowStatus, reading_session

GOVERNOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEVICES = 10
# 2-8 °C, hard limits -5/25 °C, 30 min excursions, no data-gap rule
RULE = (2000, 8000, -5000, 25000, 1800, 0, False)


def setup(w3) -> tuple[Deployment, bytes, list[DeviceKey]]:
    """Contracts, an ORACLE account, one lot with a rule, DEVICES devices assigned to it."""
    deployment = deploy_contracts(w3, governor_key=GOVERNOR_KEY)
    sender = TransactionSender(w3, Account.from_key(GOVERNOR_KEY))
    membership = MembershipClient(sender, deployment)
    for role in (Role.OPERATOR, Role.QUALITY):
        membership.grant_role(role, sender.account.address)
    membership.grant_role(Role.ORACLE, Account.from_key(ANVIL_ORACLE_KEY).address)
    product_class = keccak256(b"https://id.gs1.org/01/09506000134352")
    compliance = w3.eth.contract(
        address=deployment.address("ColdChainCompliance"),
        abi=load_artifact("ColdChainCompliance").abi,
    )
    registry = w3.eth.contract(
        address=deployment.address("DeviceRegistry"), abi=load_artifact("DeviceRegistry").abi
    )
    sender.transact(
        compliance.address, compliance.encode_abi("setRule", args=[product_class, RULE])
    )
    lot = DigitalLink.lot("09506000134352", "BENCH-1")
    LedgerWriter(sender, deployment).create_batch(lot.uri, product_class=product_class)
    devices = [DeviceKey.generate() for _ in range(DEVICES)]
    for device in devices:
        sender.transact(
            registry.address,
            registry.encode_abi(
                "registerDevice", args=[device.address, device.did(deployment.chain_id)]
            ),
        )
        sender.transact(
            registry.address,
            registry.encode_abi("assignDevice", args=[device.address, lot.batch_id]),
        )
    return deployment, lot.batch_id, devices


def payloads(bridge: Bridge, batch_id: bytes, devices: list[DeviceKey], count: int, first: int):
    """`count` signed readings, round robin over the devices, seqs from `first`."""
    start = int(time.time()) - 1_000_000
    result = []
    for index in range(count):
        device = devices[index % len(devices)]
        seq = first + index // len(devices)
        reading = Reading(
            device=device.address,
            batch_id=batch_id,
            seq=seq,
            timestamp=start + 10 * seq,
            temp_milli_c=5000,
            humidity_permille=500,
        )
        result.append(to_json(device.sign(reading, domain=bridge.domain)).encode())
    return result


def make_bridge(w3, deployment: Deployment, engine: Engine, **settings) -> Bridge:
    rules = ChainRuleSource(w3, deployment, cache_s=60)
    return Bridge(
        engine=engine,
        w3=w3,
        deployment=deployment,
        oracle=Account.from_key(ANVIL_ORACLE_KEY),
        policy=ChainDevicePolicy(w3, deployment, rules=rules, cache_s=60),
        rules=rules,
        settings=BridgeSettings(**settings),
    )


def accept_all(bridge: Bridge, raws: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in raws:
        if bridge.ingestor.accept(raw, source="bench").status != "accepted":
            raise SystemExit("a benchmark reading was not accepted")
    return time.perf_counter() - started


def end_to_end(bridge: Bridge, raws: list[bytes]) -> tuple[float, float]:
    """(ingest seconds, seconds until every reading is in an anchored window)."""
    started = time.perf_counter()
    with bridge:
        ingest_s = accept_all(bridge, raws)
        while True:
            with reading_session(bridge.engine) as session:
                unanchored = session.scalar(
                    select(func.count())
                    .select_from(ReadingWindow)
                    .where(ReadingWindow.status != WindowStatus.ANCHORED)
                )
            if not unanchored and bridge.inbox_backlog() == 0:
                return ingest_s, time.perf_counter() - started
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer readings")
    args = parser.parse_args()
    readings = 2_000 if args.quick else 10_000
    naive_readings = 200 if args.quick else 500
    with running_anvil() as chain, tempfile.TemporaryDirectory() as tmp:
        w3 = connect(chain.rpc_url)
        deployment, batch_id, devices = setup(w3)
        figures: dict[str, float | int] = {"readings": readings, "devices": DEVICES}

        engine = make_engine(f"sqlite:///{Path(tmp) / 'accept.db'}")
        bridge = make_bridge(w3, deployment, engine)
        raws = payloads(bridge, batch_id, devices, readings, first=1)
        seconds = accept_all(bridge, raws)
        figures["accept_per_s"] = round(readings / seconds)
        print(f"accept alone: {readings / seconds:,.0f} readings/s", file=sys.stderr)

        engine = make_engine(f"sqlite:///{Path(tmp) / 'windowed.db'}")
        bridge = make_bridge(w3, deployment, engine, window_max_age_s=1.0)
        raws = payloads(bridge, batch_id, devices, readings, first=readings + 1)
        ingest_s, total_s = end_to_end(bridge, raws)
        with reading_session(engine) as session:
            windows = session.scalar(select(func.count()).select_from(ReadingWindow))
        figures |= {
            "windowed_accept_per_s": round(readings / ingest_s),
            "windowed_end_to_end_per_s": round(readings / total_s),
            "windows": windows or 0,
        }
        print(
            f"bridge running, 1 s windows: accept {readings / ingest_s:,.0f}/s, all anchored"
            f" after {total_s:.1f}s = {readings / total_s:,.0f} readings/s in {windows} windows",
            file=sys.stderr,
        )

        engine = make_engine(f"sqlite:///{Path(tmp) / 'naive.db'}")
        bridge = make_bridge(w3, deployment, engine, window_max_readings=1, window_max_age_s=0)
        raws = payloads(bridge, batch_id, devices, naive_readings, first=2 * readings + 1)
        _, total_s = end_to_end(bridge, raws)
        figures["one_tx_per_reading_end_to_end_per_s"] = round(naive_readings / total_s)
        figures["windowed_vs_naive"] = round(
            figures["windowed_end_to_end_per_s"] / figures["one_tx_per_reading_end_to_end_per_s"],
            1,
        )
        print(
            f"one anchoring per reading: {naive_readings / total_s:,.0f} readings/s",
            file=sys.stderr,
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
