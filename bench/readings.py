"""Benchmark (issue #3): signed readings verified, stored and anchored, bridge vs the naive way.

Three measurements, each on a fresh local anvil and a fresh SQLite bridge database:

1. The bridge: 100,000 signed readings from 100 devices (`--quick`: 10,000 from 20) handed to
   `Ingestor.accept_many` in batches by concurrent senders (as HTTP clients would), with the
   bridge's window closer and submitter running; timed from the first hand-off until every
   reading is in an anchored window. Then the gas of every `anchorReadings` transaction per
   reading, and every reading read back out of the anchoring calldata on chain.
2. The naive way, on a sample: per reading, eth_account's `recover_naive`, `Ingestor.accept`
   (one row per transaction) and one `anchorReadings` transaction awaited.
3. The bound: libsecp256k1's public-key recovery alone, one core, on the same readings
   (`recover_per_s_per_core`): the bridge must recover every reading's signer, so twice
   this is what two cores could ever verify one signature at a time;
   `recover_bound_fraction` is the bridge's end-to-end rate as a share of that. Beside it,
   `batch_verify_per_s_per_core`: the same signatures batch-verified (`_batch_verify.c`),
   SEND_BATCH at a time with the devices' keys known, as the bridge verifies known devices.
4. Excursion to quarantine, anvil mining a block every second and the bridge under a steady
   background load: devices already in an excursion send the reading that makes it too long;
   timed from handing it to the bridge until the ledger's BatchStatusChanged (QUARANTINED) of
   its lot is in the chain's logs (polled every 20 ms).

Progress goes to stderr; the last line on stdout is one JSON object with the figures.

    .venv/bin/python bench/readings.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from coincurve import PublicKey
from eth_account import Account
from sqlalchemy import func, select
from web3 import Web3

from ledger_client.chain import connect, rpc, rpc_many
from ledger_client.db import make_engine
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.hashing import keccak256
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.decoding import BatchStatusChanged, LogDecoder
from ledger_client.ledger import LedgerWriter
from ledger_client.lifecycle import BatchStatus
from ledger_client.local_chain import running_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.anchors import decode_anchor_readings, encode_anchor_readings
from oracle_bridge.bridge import Bridge
from oracle_bridge.config import ANVIL_ORACLE_KEY, BridgeSettings
from oracle_bridge.contracts import ComplianceRulesClient, DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from oracle_bridge.merkle import MerkleTree, leaf, leaves
from oracle_bridge.native import hot_path_from_environment, load_native
from oracle_bridge.packing import pack, unpack
from oracle_bridge.policy.chain import ChainDevicePolicy, ChainRuleSource
from oracle_bridge.readings import Reading, ReadingDomain, digest, from_json, to_json
from oracle_bridge.rules import Rule
from oracle_bridge.store import (
    BRIDGE_SQLITE_CACHE_MIB,
    InboxReading,
    ReadingWindow,
    WindowStatus,
    reading_session,
)
from oracle_bridge.verification import recover_naive
from provenance.process import tune_collector

GOVERNOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
# The naive way anchors from its own ORACLE account: two senders never share one's nonces.
NAIVE_ORACLE_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
GTIN = "09506000134352"
COMPANY_PREFIX = "9506000"
# 2-8 °C, hard limits -5/25 °C, 30 min excursions, no data-gap rule
RULE = Rule(2000, 8000, -5000, 25000, 1800, 0)
EXCURSION_C = 9000
DEVICES_PER_LOT = 10
READING_INTERVAL_S = 10
# How the senders hand readings over: several at once, each a batch at a time (HTTP-like).
SENDERS = 2
SEND_BATCH = 500
# The bridge as benchmarked: defaults, but windows at most 2 s old (the default is 5 s) and
# as many worker processes (window drafting) as the machine has cores.
BRIDGE_SETTINGS = {"window_max_age_s": 2.0, "workers": os.cpu_count() or 2}
# Quarantine phase: background readings per second while the breaching readings arrive.
BACKGROUND_PER_S = 1000
BACKGROUND_DEVICES = 20
# Excursions allowed in the quarantine phase: short, so few readings precede the breach.
QUARANTINE_EXCURSION_S = 300
LOG_POLL_S = 0.02
# Readings whose signers the bound measurement recovers.
RECOVER_SAMPLE = 20_000


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Fleet:
    """A deployment with lots (one product class and rule) and devices assigned to them."""

    w3: Web3
    deployment: Deployment
    domain: ReadingDomain
    lots: list[bytes]
    devices: list[DeviceKey]
    devices_per_lot: int

    def lot_of(self, index: int) -> bytes:
        return self.lots[index // self.devices_per_lot]


def make_fleet(
    w3: Web3, *, devices: int, devices_per_lot: int = DEVICES_PER_LOT, rule: Rule = RULE
) -> Fleet:
    """Contracts, the two ORACLE accounts, `devices` devices on lots of `devices_per_lot`;
    the lots' and devices' transactions sent at once, then awaited (blocks may be slow)."""
    deployment = deploy_contracts(w3, governor_key=GOVERNOR_KEY)
    sender = TransactionSender(w3, Account.from_key(GOVERNOR_KEY))
    membership = MembershipClient(sender, deployment)
    for role in (Role.OPERATOR, Role.QUALITY):
        membership.grant_role(role, sender.account.address)
    for key in (ANVIL_ORACLE_KEY, NAIVE_ORACLE_KEY):
        membership.grant_role(Role.ORACLE, Account.from_key(key).address)
    product_class = keccak256(f"https://id.gs1.org/01/{GTIN}/{os.urandom(4).hex()}".encode())
    rules = ComplianceRulesClient(sender, deployment)
    rules.assign_class_authority(product_class, sender.account.address)
    rules.set_rule(product_class, rule)
    writer = LedgerWriter(sender, deployment)
    writer.assign_prefix(COMPANY_PREFIX, sender.account.address)
    ledger = writer.contract
    registry_client = DeviceRegistryClient(sender, deployment)
    registry = registry_client.contract
    lots, keys, calls = [], [], []
    for index in range(devices):
        if index % devices_per_lot == 0:
            lot = DigitalLink.lot(GTIN, f"BENCH-{os.urandom(4).hex()}")
            calls.append((ledger, "createBatch", [0, product_class, [], lot.uri]))
            lots.append(lot.batch_id)
        key = DeviceKey.generate()
        consent = key.sign_registration(
            organization=sender.account.address, domain=registry_client.domain
        )
        calls.append((registry, "registerDevice", [key.address, consent.did, consent.signature]))
        calls.append((registry, "assignDevice", [key.address, lots[-1]]))
        keys.append(key)
    hashes = [
        sender.send(contract.address, contract.encode_abi(function, args=args), gas=1_000_000)
        for contract, function, args in calls
    ]
    sender.wait(hashes, context="bench setup")
    domain = ReadingDomain(
        chain_id=deployment.chain_id,
        verifying_contract=deployment.address("ColdChainCompliance"),
    )
    return Fleet(w3, deployment, domain, lots, keys, devices_per_lot)


def _sign_stream(
    private_key: bytes,
    batch_id: bytes,
    domain: ReadingDomain,
    seqs: range,
    start: int,
    temps: dict[int, int],
) -> list[bytes]:
    """JSON of readings `seqs` of one device, READING_INTERVAL_S apart (a worker's task)."""
    key = DeviceKey.from_private_key(private_key)
    return [
        to_json(
            key.sign(
                Reading(
                    device=key.address,
                    batch_id=batch_id,
                    seq=seq,
                    timestamp=start + READING_INTERVAL_S * seq,
                    temp_milli_c=temps.get(seq, 5000),
                    humidity_permille=500,
                ),
                domain=domain,
            )
        ).encode()
        for seq in seqs
    ]


def signed_streams(
    fleet: Fleet,
    seqs: range,
    *,
    start: int,
    temps: Sequence[dict[int, int]] | None = None,
    devices: Sequence[int] | None = None,
) -> list[list[bytes]]:
    """Per device (all, or those indexed by `devices`), its signed readings `seqs`."""
    chosen = list(devices) if devices is not None else list(range(len(fleet.devices)))
    with ProcessPoolExecutor(os.cpu_count() or 2, mp_context=get_context("spawn")) as pool:
        tasks = [
            pool.submit(
                _sign_stream,
                fleet.devices[i].private_key,
                fleet.lot_of(i),
                fleet.domain,
                seqs,
                start,
                temps[n] if temps else {},
            )
            for n, i in enumerate(chosen)
        ]
        return [task.result() for task in tasks]


def interleaved(streams: Sequence[Sequence[bytes]]) -> list[bytes]:
    """Round robin over the devices: every device's next reading, then the next."""
    return [raw for group in zip(*streams, strict=True) for raw in group]


@contextlib.contextmanager
def running(bridge: Bridge) -> Iterator[None]:
    """The bridge running in this process as a member node runs it: with the node's tuning
    of the garbage collector, which belongs to the process, not to the bridge."""
    restore = tune_collector()
    try:
        with bridge:
            yield
    finally:
        restore()


def make_bridge(fleet: Fleet, path: Path, **settings: object) -> Bridge:
    rules = ChainRuleSource(fleet.w3, fleet.deployment, cache_s=60)
    return Bridge(
        engine=make_engine(f"sqlite:///{path}", sqlite_cache_mib=BRIDGE_SQLITE_CACHE_MIB),
        w3=fleet.w3,
        deployment=fleet.deployment,
        oracle=Account.from_key(ANVIL_ORACLE_KEY),
        policy=ChainDevicePolicy(fleet.w3, fleet.deployment, rules=rules, cache_s=60),
        rules=rules,
        settings=BridgeSettings(**{**BRIDGE_SETTINGS, **settings}),  # type: ignore[arg-type]
        hot_path=hot_path_from_environment(),
    )


def send(bridge: Bridge, streams: Sequence[Sequence[bytes]], *, senders: int, batch: int) -> None:
    """Hand the devices' readings to the bridge from `senders` threads (gateways), each for
    its share of the devices, in order, `batch` readings per call."""
    failures: list[str] = []

    def sender(raws: list[bytes]) -> None:
        for start in range(0, len(raws), batch):
            results = bridge.ingestor.accept_many(raws[start : start + batch], source="bench")
            refused = [r for r in results if r.status != "accepted"]
            if refused:
                failures.append(f"{refused[0].status}: {refused[0].reason}")

    threads = [
        threading.Thread(target=sender, args=(interleaved(streams[k::senders]),))
        for k in range(senders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} batches had readings not accepted: {failures[0]}")


def all_anchored(bridge: Bridge) -> bool:
    """Whether every stored reading is in a window and every window is anchored (one read
    transaction: a window closed between two separate counts would be missed). Two index
    look-ups: polled while the bridge works, it must not take the bridge's CPU."""
    with reading_session(bridge.engine) as session:
        pending = InboxReading.window_id.is_(None)  # type: ignore[union-attr]
        unwindowed = session.scalar(select(func.count()).select_from(InboxReading).where(pending))
        open_windows = session.scalar(
            select(func.count())
            .select_from(ReadingWindow)
            .where(ReadingWindow.status != WindowStatus.ANCHORED)
        )
    return not unwindowed and not open_windows


def stored_readings(bridge: Bridge) -> int:
    with reading_session(bridge.engine) as session:
        return session.scalar(select(func.count()).select_from(InboxReading)) or 0


def bridge_throughput(
    fleet: Fleet, streams: list[list[bytes]], path: Path
) -> dict[str, float | int]:
    raws = interleaved(streams)
    bridge = make_bridge(fleet, path)
    time.sleep(3)  # the worker processes start with the bridge
    try:
        with running(bridge):
            started = time.perf_counter()
            send(bridge, streams, senders=SENDERS, batch=SEND_BATCH)
            ingested = time.perf_counter()
            # Every batch was accepted whole (`send` checks): all readings are stored.
            while not all_anchored(bridge):
                time.sleep(0.02)
            finished = time.perf_counter()
    finally:
        bridge.close()
    readings = len(raws)
    if stored_readings(bridge) != readings:
        raise SystemExit(f"{stored_readings(bridge):,} readings stored of {readings:,} sent")
    figures: dict[str, float | int] = {
        "readings_per_s": round(readings / (finished - started)),
        "accept_per_s": round(readings / (ingested - started)),
        "seconds": round(finished - started, 2),
    }
    progress(
        f"bridge: {readings:,} readings accepted at {figures['accept_per_s']:,}/s, all anchored"
        f" after {finished - started:.2f} s = {figures['readings_per_s']:,} readings/s"
    )
    figures |= anchoring_figures(fleet, bridge, raws)
    return figures


def anchoring_figures(fleet: Fleet, bridge: Bridge, raws: list[bytes]) -> dict[str, float | int]:
    """Gas per reading over every anchoring, and every reading recovered from the chain."""
    with reading_session(bridge.engine) as session:
        windows = session.scalars(select(ReadingWindow).order_by(ReadingWindow.id)).all()
    hashes = [w.tx_hash for w in windows]
    if None in hashes:
        bad = [w for w in windows if w.tx_hash is None]
        raise SystemExit(f"{len(bad)} windows without tx hash, e.g. {bad[0]}")
    receipts = rpc_many(fleet.w3, [("eth_getTransactionReceipt", [h]) for h in hashes])
    transactions = rpc_many(fleet.w3, [("eth_getTransactionByHash", [h]) for h in hashes])
    gas = sum(int(r["gasUsed"], 16) for r in receipts)
    sent = {}
    for raw in raws:
        reading = from_json(raw).reading
        sent[(reading.device, reading.seq)] = reading
    recovered = 0
    for tx, window in zip(transactions, windows, strict=True):
        call = decode_anchor_readings(bytes.fromhex(tx["input"][2:]))
        readings = unpack(call.packed, batch_id=call.batch_id, first_seq=call.first_seq)
        root = MerkleTree(leaves(readings)).root
        if not root == call.merkle_root == window.merkle_root:
            raise SystemExit(f"window {window.id}: the anchored root is not its readings' root")
        for reading in readings:
            if sent.pop((reading.device, reading.seq), None) != reading:
                raise SystemExit(f"reading {reading.seq} of {reading.device}: not as sent")
        recovered += len(readings)
    if sent:
        raise SystemExit(f"{len(sent)} readings are in no anchoring transaction")
    readings = len(raws)
    progress(
        f"anchoring: {len(windows)} anchorReadings transactions, {gas:,} gas ="
        f" {gas / readings:.0f} gas per reading; all {recovered:,} readings read back out of"
        " the calldata on chain, each exactly as signed, under its window's Merkle root"
    )
    return {
        "gas_per_reading": round(gas / readings),
        "windows": len(windows),
        "readings_recovered_from_calldata": recovered,
    }


def recover_per_s(raws: Sequence[bytes], *, domain: ReadingDomain) -> float:
    """Signers recovered per second on one core with libsecp256k1 (coincurve) and nothing
    else: the digests are computed before the clock starts."""
    signed = [from_json(raw) for raw in raws]
    jobs = [
        (s.signature[:64] + bytes([s.signature[64] - 27]), digest(s.reading, domain=domain))
        for s in signed
    ]
    started = time.perf_counter()
    for signature, message_digest in jobs:
        PublicKey.from_signature_and_message(signature, message_digest, hasher=None)
    rate = len(jobs) / (time.perf_counter() - started)
    progress(f"bound: libsecp256k1 recovers {rate:,.0f} signers/s on one core")
    return rate


def batch_verify_per_s(raws: Sequence[bytes], *, domain: ReadingDomain) -> float | None:
    """Signatures verified per second on one core by batch verification (`_batch_verify.c`)
    in batches of SEND_BATCH, the signers' keys known; digests computed before the clock
    starts. None where the bridge was built without it."""
    native = load_native()
    hotpath = native.module if native is not None else None
    if hotpath is None or not hotpath.BATCH_VERIFY:
        return None
    signed = [from_json(raw) for raw in raws]
    keys: dict[str, int] = {}
    public_keys: list[bytes] = []
    items = []
    for s in signed:
        message_digest = digest(s.reading, domain=domain)
        if s.reading.device not in keys:
            recoverable = s.signature[:64] + bytes([s.signature[64] - 27])
            key = PublicKey.from_signature_and_message(recoverable, message_digest, hasher=None)
            keys[s.reading.device] = len(public_keys)
            public_keys.append(key.format(compressed=False)[1:])
        items.append((s.signature, message_digest, keys[s.reading.device]))
    started = time.perf_counter()
    for start in range(0, len(items), SEND_BATCH):
        if not hotpath.verify_batch(public_keys, items[start : start + SEND_BATCH]):
            raise SystemExit("a batch of true signatures did not verify")
    rate = len(items) / (time.perf_counter() - started)
    progress(f"bound: batch verification checks {rate:,.0f} signatures/s on one core")
    return rate


def naive_throughput(fleet: Fleet, raws: list[bytes], path: Path) -> float:
    """Per reading: eth_account recovery, one row per transaction, one awaited anchoring."""
    bridge = make_bridge(fleet, path, workers=0)
    sender = TransactionSender(fleet.w3, Account.from_key(NAIVE_ORACLE_KEY))
    address = fleet.deployment.address("ColdChainCompliance")
    try:
        started = time.perf_counter()
        for raw in raws:
            signed = from_json(raw)
            if recover_naive(signed, domain=fleet.domain) != signed.reading.device:
                raise SystemExit("eth_account recovered another signer")
            if bridge.ingestor.accept(raw, source="naive").status != "accepted":
                raise SystemExit("a naive reading was not accepted")
            reading = signed.reading
            data = encode_anchor_readings(
                batch_id=reading.batch_id,
                merkle_root=leaf(reading),
                first_seq=reading.seq,
                last_seq=reading.seq,
                packed=pack([reading]),
            )
            sender.transact(address, data, context="anchorReadings")
        seconds = time.perf_counter() - started
    finally:
        bridge.close()
    progress(f"naive: {len(raws)} readings in {seconds:.1f} s = {len(raws) / seconds:,.1f}/s")
    return len(raws) / seconds


class QuarantineWatch:
    """Polls the ledger's logs; records when each lot's QUARANTINED status first shows."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self._w3 = w3
        self._address = deployment.address("ProvenanceLedger")
        self._decoder = LogDecoder.for_contracts()
        self._next_block = w3.eth.block_number + 1
        self.seen: dict[bytes, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(LOG_POLL_S):
            head = int(rpc(self._w3, "eth_blockNumber", []), 16)  # type: ignore[arg-type]
            if head < self._next_block:
                continue
            logs = rpc(
                self._w3,
                "eth_getLogs",
                [
                    {
                        "address": self._address,
                        "fromBlock": hex(self._next_block),
                        "toBlock": hex(head),
                    }
                ],
            )
            now = time.perf_counter()
            for raw in logs:  # type: ignore[union-attr]
                event = self._decoder.decode(raw)
                if (
                    isinstance(event, BatchStatusChanged)
                    and event.to_status is BatchStatus.QUARANTINED
                ):
                    self.seen.setdefault(bytes.fromhex(event.batch_id[2:]), now)
            self._next_block = head + 1

    def wait_for(self, batch_id: bytes, timeout_s: float = 30) -> float:
        deadline = time.monotonic() + timeout_s
        while batch_id not in self.seen:
            if time.monotonic() > deadline:
                raise SystemExit(f"lot 0x{batch_id.hex()} was not quarantined within {timeout_s} s")
            time.sleep(0.005)
        return self.seen[batch_id]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def quarantine_latency(count: int, path: Path) -> dict[str, float | int]:
    """Seconds from handing a breaching reading to the bridge to its lot's quarantine on chain."""
    rule = Rule(2000, 8000, -5000, 25000, QUARANTINE_EXCURSION_S, 0)
    with running_anvil(block_time=1) as chain:
        w3 = connect(chain.rpc_url)
        # One device per lot: `count` lots for the quarantines, the rest for the load.
        fleet = make_fleet(w3, devices=count + BACKGROUND_DEVICES, devices_per_lot=1, rule=rule)
        breaching = list(range(count))
        background = list(range(count, len(fleet.devices)))
        start = int(time.time()) - 100_000
        # Out of range from seq 2: the excursion is still allowed at seq `last_allowed`.
        last_allowed = 2 + rule.allowed_excursion_seconds // READING_INTERVAL_S
        excursion = dict.fromkeys(range(2, last_allowed + 2), EXCURSION_C)
        streams = signed_streams(
            fleet,
            range(1, last_allowed + 2),
            start=start,
            temps=[excursion] * count,
            devices=breaching,
        )
        load = iter(
            interleaved(signed_streams(fleet, range(1, 3_001), start=start, devices=background))
        )
        bridge = make_bridge(fleet, path)
        watch = QuarantineWatch(w3, fleet.deployment)
        stop_load = threading.Event()

        def background_load() -> None:
            tick = 0.05
            while not stop_load.wait(tick):
                chunk = list(itertools.islice(load, int(BACKGROUND_PER_S * tick)))
                if chunk:
                    bridge.ingestor.accept_many(chunk, source="background")

        latencies = []
        try:
            with running(bridge):
                bridge.ingestor.accept_many(
                    [s for stream in streams for s in stream[:-1]], source="q"
                )
                loader = threading.Thread(target=background_load)
                loader.start()
                while not excursions_on_chain(fleet, bridge, breaching, last_allowed):
                    time.sleep(0.1)
                progress(
                    f"quarantine: {count} lots in an excursion on chain; breaching readings next"
                )
                for n, stream in enumerate(streams):
                    time.sleep(random.uniform(0.2, 1.2))  # any phase of the 1 s block interval
                    handed = time.perf_counter()
                    result = bridge.ingestor.accept_many([stream[-1]], source="q")[0]
                    if result.status != "accepted":
                        raise SystemExit(
                            f"a breaching reading was {result.status}: {result.reason}"
                        )
                    latencies.append(watch.wait_for(fleet.lot_of(breaching[n])) - handed)
                stop_load.set()
                loader.join()
        finally:
            stop_load.set()
            watch.stop()
            bridge.close()
    progress("quarantine latencies (s): " + " ".join(f"{s:.2f}" for s in latencies))
    latencies.sort()
    figures = {
        "quarantine_latency_p50_s": round(statistics.median(latencies), 3),
        "quarantine_latency_p99_s": round(percentile(latencies, 0.99), 3),
        "quarantine_latency_max_s": round(latencies[-1], 3),
        "quarantines": count,
        "quarantine_background_readings_per_s": BACKGROUND_PER_S,
    }
    progress(
        f"quarantine: {count} lots, 1 s blocks, {BACKGROUND_PER_S:,} background readings/s:"
        f" p50 {figures['quarantine_latency_p50_s']} s, p99 {figures['quarantine_latency_p99_s']}"
        f" s, max {figures['quarantine_latency_max_s']} s"
    )
    return figures


def excursions_on_chain(fleet: Fleet, bridge: Bridge, devices: list[int], last_seq: int) -> bool:
    compliance = bridge.submitter.contract
    return all(
        compliance.functions.complianceState(fleet.lot_of(i), fleet.devices[i].address).call()[0]
        == last_seq
        for i in devices
    )


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 readings from 20 devices")
    args = parser.parse_args()
    devices, per_device = (20, 500) if args.quick else (100, 1000)
    naive_sample = 200 if args.quick else 500
    quarantines = 10 if args.quick else 20
    figures: dict[str, object] = {
        "bench": "readings",
        "readings": devices * per_device,
        "devices": devices,
    }
    with tempfile.TemporaryDirectory() as tmp:
        with running_anvil() as chain:
            fleet = make_fleet(connect(chain.rpc_url), devices=devices)
            start = int(time.time()) - 10 * per_device * READING_INTERVAL_S
            streams = signed_streams(fleet, range(1, per_device + 1), start=start)
            progress(f"setup: {devices * per_device:,} signed readings from {devices} devices")
            figures |= bridge_throughput(fleet, streams, Path(tmp) / "bridge.db")
            # The devices' next readings, into a database of their own (the contract refuses
            # to anchor a reading twice).
            after = range(per_device + 1, per_device + 1 + naive_sample // devices)
            naive_raws = interleaved(signed_streams(fleet, after, start=start))
            naive = naive_throughput(fleet, naive_raws, Path(tmp) / "naive.db")
            recover = recover_per_s(interleaved(streams)[:RECOVER_SAMPLE], domain=fleet.domain)
            batched = batch_verify_per_s(interleaved(streams)[:RECOVER_SAMPLE], domain=fleet.domain)
        figures["naive_readings_per_s"] = round(naive, 1)
        figures["ratio"] = round(figures["readings_per_s"] / naive, 1)  # type: ignore[operator]
        figures["recover_per_s_per_core"] = round(recover)
        bound = (os.cpu_count() or 2) * recover
        figures["recover_bound_fraction"] = round(figures["readings_per_s"] / bound, 3)  # type: ignore[operator]
        figures["batch_verify_per_s_per_core"] = batched and round(batched)
        figures |= quarantine_latency(quarantines, Path(tmp) / "quarantine.db")
    native = load_native()
    figures["hot_path"] = hot_path_from_environment().name
    figures["libsecp256k1"] = native.libsecp256k1_version if native is not None else None
    figures["bridge_settings"] = BRIDGE_SETTINGS | {"senders": SENDERS, "send_batch": SEND_BATCH}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
