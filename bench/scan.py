"""Benchmark: a lot's scan page and its JSON under load, against the naive way, in one run.

Builds one lot on a fresh local anvil as the real stack records it: 1,000 EPCIS events
anchored by the operator, 10,000 device-signed readings taken by the oracle bridge and
anchored (a short excursion among them, so the chart highlights it), 20 credentials about
the lot issued and anchored by the quality lab and kept in the node's credential store, the
read model indexed from the chain, and a 100,000-lot genealogy behind the lot written
straight into the read model (capturing it would take the chain minutes). Then starts
`provenance serve` on that chain and state directory, as an operator does, and measures
from 16 concurrent keep-alive clients (aiohttp, in this process) over loopback:

- json: `GET /scan/01/{gtin}/10/{lot}` with `Accept: application/json` (the public record:
  1,000 steps) — `json_p50_ms`, `json_p99_ms`, `json_rps`;
- html: the scan page itself (chart, credentials verified on chain, timeline) — `html_p99_ms`;
- qr: `GET /qr/01/{gtin}/10/{lot}.svg` — `qr_p99_ms`;
- naive: the same history rebuilt from the chain per request, as a client without the node's
  read model would (the lot's `EventRecorded` and `BatchStatusChanged` logs by
  `eth_getLogs`, each transaction's calldata decoded with web3) — `naive_json_p99_ms`,
  and `ratio` = naive_json_p99_ms / json_p99_ms;
- trace: the backward trace of the lot over its 100,000-lot genealogy in the node's read
  model, as the node's lots reader walks it (`trace_100k_s`), and through
  `GET /api/v1/trace/{lot}` (`trace_api_100k_s`, JSON of 100,000 nodes included).

Progress goes to stderr, one JSON line to stdout.

    .venv/bin/python bench/scan.py [--quick]
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/scan.py`, this folder comes first on the path, and its api.py and
# credentials.py (other benches) would shadow the packages of those names.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import gzip
import json
import math
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx
from eth_account import Account
from sqlalchemy import insert
from sqlalchemy.orm import Session
from web3 import Web3

from credentials.identities import account_signer, mint_asset_did
from credentials.registry import CredentialRegistryClient
from credentials.service import issue_and_anchor
from credentials.store import CredentialStore, create_credential_tables
from credentials.types import CredentialType
from ledger_client.chain import connect
from ledger_client.config import LedgerSettings
from ledger_client.db import make_engine, table_of
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.genealogy import EpcisEdge, GenealogyLink, Relation
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.lots import READ_CACHE_MIB, ReadModelLots
from ledger_client.indexer.read_model import create_read_model
from ledger_client.indexer.trace import MAX_TRACE_DEPTH
from ledger_client.keys import ANVIL_DEV_KEYS
from ledger_client.ledger import EventKind, LedgerWriter
from ledger_client.local_chain import free_port, running_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.bridge import Bridge
from oracle_bridge.config import BridgeSettings
from oracle_bridge.contracts import ComplianceRulesClient, DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from oracle_bridge.readings import Reading, to_json
from oracle_bridge.rules import Rule
from oracle_bridge.store import create_bridge_tables

CLIENTS = 16
GTIN = "09506000134352"
COMPANY_PREFIX = "9506000"
LOT = DigitalLink.lot(GTIN, "SCAN-BENCH-1")
GOVERNOR, OPERATOR, QUALITY, _, ORACLE = (Account.from_key(k) for k in ANVIL_DEV_KEYS[:5])
PRODUCT_CLASS = Web3.keccak(text="vaccine-2-8C")
# 2-8 °C, 15 min excursions allowed, hard limits -5 / 25 °C, at most an hour between readings.
VACCINE_RULE = Rule(2_000, 8_000, -5_000, 25_000, 15 * 60, 3_600)
FAN_IN = 4
PROVENANCE = Path(sys.executable).with_name("provenance")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def event(n: int) -> bytes:
    """A ~450-byte ObjectEvent of the lot: an observation somewhere on its way."""
    step = ("receiving", "storing", "shipping", "inspecting")[n % 4]
    return json.dumps(
        {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:7b0c6a2e-5ca0-4d1f-8c3b-{n:012x}",
            "eventTime": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00.000Z",
            "eventTimeZoneOffset": "+01:00",
            "action": "OBSERVE",
            "bizStep": step,
            "disposition": "in_progress",
            "quantityList": [{"epcClass": LOT.uri, "quantity": 100}],
            "readPoint": {"id": "https://id.gs1.org/414/9506000000001"},
            "bizLocation": {"id": "https://id.gs1.org/414/9506000000018"},
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def reading(device: DeviceKey, seq: int, start: int, *, count: int) -> Reading:
    """A reading every minute around 5 °C; ten minutes at 9.2 °C in the middle (shorter than
    the rule allows, so the lot stays active and its chart highlights them)."""
    warm = count // 2 <= seq < count // 2 + 10
    temperature = 9_200 if warm else round(5_000 + 1_500 * math.sin(seq / 240))
    return Reading(device.address, LOT.batch_id, seq, start + 60 * seq, temperature, 480)


def build(state_dir: Path, rpc_url: str, *, events: int, readings: int, credentials: int) -> str:
    """The lot, its readings and credentials on the chain at `rpc_url`, and the node's
    databases under `state_dir`; returns a member's bearer token."""
    w3 = connect(rpc_url)
    deployment = deploy_contracts(w3, governor_key=GOVERNOR.key.hex())
    deployment.save(state_dir / "deployment.json")
    chain_id = deployment.chain_id
    membership = MembershipClient(TransactionSender(w3, GOVERNOR), deployment)
    for role, account in (
        (Role.OPERATOR, OPERATOR),
        (Role.QUALITY, QUALITY),
        (Role.ISSUER, QUALITY),
        (Role.ORACLE, ORACLE),
    ):
        membership.grant_role(role, account.address)
    for account, name in ((OPERATOR, "Northwind Vaccines"), (QUALITY, "Polar Quality Lab")):
        did = f"did:pkh:eip155:{chain_id}:{account.address}"
        membership.register_organization(account.address, did=did, name=name)
    LedgerWriter(TransactionSender(w3, GOVERNOR), deployment).assign_prefix(
        COMPANY_PREFIX, OPERATOR.address
    )
    ComplianceRulesClient(TransactionSender(w3, GOVERNOR), deployment).assign_class_authority(
        PRODUCT_CLASS, QUALITY.address
    )
    ComplianceRulesClient(TransactionSender(w3, QUALITY), deployment).set_rule(
        PRODUCT_CLASS, VACCINE_RULE
    )
    writer = LedgerWriter(TransactionSender(w3, OPERATOR), deployment)
    writer.create_batch(LOT.uri, product_class=PRODUCT_CLASS)
    log(f"anchoring {events:,} events…")
    writer.record_events(LOT.batch_id, [(EventKind.OTHER, event(n)) for n in range(events)])

    log(f"issuing and anchoring {credentials} credentials…")
    CredentialRegistryClient(TransactionSender(w3, GOVERNOR), deployment).set_trusted(
        QUALITY.address, CredentialType.FIT_FOR_USE.value, True
    )
    asset = mint_asset_did().did
    CredentialRegistryClient(TransactionSender(w3, OPERATOR), deployment).bind_subject(
        asset, LOT.batch_id
    )
    store_engine = make_engine(f"sqlite:///{state_dir / 'credentials.db'}")
    create_credential_tables(store_engine)
    registry = CredentialRegistryClient(TransactionSender(w3, QUALITY), deployment)
    signer = account_signer("0x" + QUALITY.key.hex().removeprefix("0x"), chain_id=chain_id)
    issued = datetime.fromtimestamp(w3.eth.get_block("latest")["timestamp"], UTC)
    for n in range(credentials):
        issue_and_anchor(
            registry=registry,
            signer=signer,
            credential_type=CredentialType.FIT_FOR_USE,
            subject_did=asset,
            claims={"lot": LOT.uri, "basis": ["0x" + f"{n + 1:064x}"]},
            issuance_date=issued,
            expiration_date=issued + timedelta(days=365),
            suspends_with_batch=LOT.batch_id,
            store=CredentialStore(store_engine),
        )
    store_engine.dispose()

    log(f"taking {readings:,} signed readings through the bridge and anchoring them…")
    devices = DeviceRegistryClient(TransactionSender(w3, OPERATOR), deployment)
    logger = DeviceKey.generate()
    devices.register_device(
        logger.sign_registration(organization=OPERATOR.address, domain=devices.domain)
    )
    devices.assign_device(logger.address, LOT.batch_id)
    bridge_engine = make_engine(f"sqlite:///{state_dir / 'bridge.db'}")
    create_bridge_tables(bridge_engine)
    bridge_engine.dispose()
    ledger = LedgerSettings(rpc_url=rpc_url, state_dir=state_dir)
    bridge = Bridge.from_settings(BridgeSettings(ledger=ledger, window_max_age_s=0))
    try:
        start = int(time.time()) - 60 * (readings + 10)
        signed = [
            to_json(
                logger.sign(reading(logger, seq, start, count=readings), domain=bridge.domain)
            ).encode()
            for seq in range(1, readings + 1)
        ]
        for first in range(0, readings, 1_000):
            results = bridge.ingestor.accept_many(signed[first : first + 1_000], source="bench")
            refused = [r for r in results if r.status != "accepted"]
            if refused:
                raise SystemExit(f"the bridge refused readings: {refused[:3]}")
        bridge.run_once()
        # The node's own bridge takes over this database.
        bridge.lease.release()
    finally:
        bridge.close()

    log("indexing the read model…")
    read_model = make_engine(f"sqlite:///{state_dir / 'read_model.db'}")
    create_read_model(read_model)
    Indexer(w3, deployment, read_model).run_once()
    read_model.dispose()

    # As an operator issues one.
    issued = subprocess.run(
        [
            str(PROVENANCE),
            "token",
            "issue",
            "--org",
            f"did:pkh:eip155:{chain_id}:{QUALITY.address}",
            "--role",
            "QUALITY",
        ],
        env=node_environment(state_dir, rpc_url),
        capture_output=True,
        text=True,
        check=True,
    )
    return issued.stdout.split()[-1]


def _lot_id(n: int) -> str:
    """Lot n of the genealogy; lot 0 is the bench lot."""
    return "0x" + LOT.batch_id.hex() if n == 0 else "0x" + f"{n:064x}"


def genealogy(state_dir: Path, nodes: int) -> None:
    """Lot n is made from lots FAN_IN*n+1 … FAN_IN*n+FAN_IN (below `nodes`), recorded as
    aggregation edges straight into the read model."""
    rows = []
    for child in range(nodes):
        parents = [p for p in range(FAN_IN * child + 1, FAN_IN * child + FAN_IN + 1) if p < nodes]
        rows += [
            {
                "batch_id": "0x" + "ee" * 32,
                "event_index": child,
                "block_number": 1,
                "ordinal": i,
                "source_id": _lot_id(p),
                "source_uri": DigitalLink.lot(GTIN, f"G{p}").uri,
                "target_id": _lot_id(child),
                "target_uri": LOT.uri if child == 0 else DigitalLink.lot(GTIN, f"G{child}").uri,
                "relation": Relation.AGGREGATION.value,
            }
            for i, p in enumerate(parents)
        ]
    # And their links, as the indexer makes them for the edges it writes itself.
    links = [{k: v for k, v in row.items() if k != "ordinal"} for row in rows]
    engine = make_engine(f"sqlite:///{state_dir / 'read_model.db'}")
    with Session(engine) as session:
        session.execute(insert(table_of(EpcisEdge)), rows)
        session.execute(insert(table_of(GenealogyLink)), links)
        session.commit()
    engine.dispose()


def node_environment(state_dir: Path, rpc_url: str) -> dict[str, str]:
    """The node's settings: this chain and state directory, the quality lab's key, the
    clients unthrottled (they are measured, not budgeted)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    return env | {
        "PROVENANCE_STATE_DIR": str(state_dir),
        "PROVENANCE_RPC_URL": rpc_url,
        "PROVENANCE_PRIVATE_KEY": "0x" + QUALITY.key.hex().removeprefix("0x"),
        "PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY": "0x" + ORACLE.key.hex().removeprefix("0x"),
        "PROVENANCE_API_TRAIL_ANCHOR_INTERVAL_S": "0",
        "PROVENANCE_API_RATE_PER_S": "100000",
        "PROVENANCE_API_RATE_BURST": "1000000",
    }


@dataclass(frozen=True)
class Node:
    url: str
    pid: int

    def cpu_s(self) -> float:
        """CPU seconds the node's process has used (utime + stime of /proc/PID/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(state_dir: Path, rpc_url: str) -> Iterator[Node]:
    """`provenance serve --no-mqtt` on the chain at `rpc_url` and `state_dir`, on a free
    port; stopped with SIGTERM on the way out."""
    port = free_port()
    env = node_environment(state_dir, rpc_url)
    log_path = state_dir.parent / "node.log"
    with open(log_path, "wb") as node_log:
        process = subprocess.Popen(
            [str(PROVENANCE), "serve", "--port", str(port), "--no-mqtt"],
            env=env,
            stdout=node_log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"provenance serve stopped:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"provenance serve did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Node(url, process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _load(
    node: Node, url: str, count: int, headers: dict[str, str], check: Callable[[int, bytes], None]
) -> tuple[list[float], float, float]:
    """`count` GETs of `url` from 16 concurrent keep-alive clients: each one's latency (ms),
    the requests per second and the node's CPU milliseconds per request over the run (after
    2 warm-up requests per client, which build what the node keeps).

    The clients take gzip, as browsers do, and keep it encoded: `check` reads the warm-up
    answers (decoded); a measured answer with their ETag is the same body, and only one with
    another ETag is read again (decoding and parsing each answer would make this client the
    bottleneck)."""
    latencies: list[float] = []
    checked: set[str] = set()
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, auto_decompress=False
    ) as session:
        remaining = [count]

        async def client() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                started = time.perf_counter()
                async with session.get(url) as answer:
                    body = await answer.read()
                    status, etag = answer.status, answer.headers.get("ETag", "")
                latencies.append((time.perf_counter() - started) * 1_000)
                if status != 200 or etag not in checked:
                    check(status, _decoded(answer, body))
                    checked.add(etag)

        async def warm() -> None:
            for _ in range(2):
                async with session.get(url) as answer:
                    check(answer.status, _decoded(answer, await answer.read()))
                    checked.add(answer.headers.get("ETag", ""))

        await asyncio.gather(*(warm() for _ in range(CLIENTS)))
        started, cpu_before = time.perf_counter(), node.cpu_s()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        elapsed, cpu_s = time.perf_counter() - started, node.cpu_s() - cpu_before
    return latencies, len(latencies) / elapsed, cpu_s * 1_000 / len(latencies)


def _decoded(answer: aiohttp.ClientResponse, body: bytes) -> bytes:
    return gzip.decompress(body) if answer.headers.get("Content-Encoding") == "gzip" else body


def load(
    node: Node,
    url: str,
    count: int,
    check: Callable[[int, bytes], None],
    headers: dict[str, str] | None = None,
) -> tuple[list[float], float, float]:
    return asyncio.run(_load(node, url, count, headers or {}, check))


def percentile(values: list[float], q: int) -> float:
    """The `q`th percentile (1..99) of `values`."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def naive_history(w3: Web3, ledger: Any, batch_id: bytes) -> dict[str, Any]:
    """The lot's record rebuilt from the chain: its EventRecorded and BatchStatusChanged logs
    by eth_getLogs, each anchoring transaction's calldata decoded with web3 for the payloads
    (hashed and compared with the logged hash, as the page marks each step)."""
    logs = ledger.events.EventRecorded.get_logs(
        argument_filters={"batchId": batch_id}, from_block=0, to_block="latest"
    )
    statuses = ledger.events.BatchStatusChanged.get_logs(
        argument_filters={"batchId": batch_id}, from_block=0, to_block="latest"
    )
    calls: dict[bytes, dict[str, Any]] = {}
    steps = []
    for entry in logs:
        tx_hash = bytes(entry["transactionHash"])
        if tx_hash not in calls:
            tx = w3.eth.get_transaction(tx_hash)
            calls[tx_hash] = ledger.decode_function_input(tx["input"])[1]
        payload = calls[tx_hash]["payloads"][entry["args"]["position"]]
        record = json.loads(payload)
        steps.append(
            {
                "what": record.get("bizStep"),
                "when": record.get("eventTime"),
                "transaction": "0x" + tx_hash.hex(),
                "block": entry["blockNumber"],
                "matchesLedger": Web3.keccak(payload) == bytes(entry["args"]["payloadHash"]),
            }
        )
    status = statuses[-1]["args"]["to"] if statuses else 0
    return {"id": LOT.uri, "status": status, "steps": steps}


def naive_load(rpc_url: str, deployment: Deployment, count: int, events: int) -> list[float]:
    """`count` naive rebuilds from 16 concurrent clients, each with its own web3."""
    handles = []
    for _ in range(CLIENTS):
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 120}))
        handles.append((w3, deployment.contract(w3, "ProvenanceLedger")))
    latencies: list[float] = []

    def run(n: int) -> None:
        w3, ledger = handles[n % CLIENTS]
        started = time.perf_counter()
        history = naive_history(w3, ledger, LOT.batch_id)
        latencies.append((time.perf_counter() - started) * 1_000)
        if len(history["steps"]) != events:
            raise SystemExit(f"the naive rebuild found {len(history['steps'])} steps")

    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(run, n) for n in range(count)]:
            future.result()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="200 events, 2,000 readings, 5 credentials, a 2,000-lot genealogy, fewer requests",
    )
    args = parser.parse_args()
    events, readings, credentials, nodes, requests, naive_count = (
        (200, 2_000, 5, 2_000, 800, 32) if args.quick else (1_000, 10_000, 20, 100_000, 8_000, 64)
    )
    with tempfile.TemporaryDirectory(prefix="scan-bench-") as folder:
        state_dir = Path(folder) / "state"
        state_dir.mkdir()
        with running_anvil() as chain:
            token = build(
                state_dir, chain.rpc_url, events=events, readings=readings, credentials=credentials
            )
            log(f"writing a {nodes:,}-lot genealogy behind the lot…")
            genealogy(state_dir, nodes)
            deployment = Deployment.load(state_dir / "deployment.json")
            with serving(state_dir, chain.rpc_url) as node:
                url = node.url
                page = f"{url}/scan/01/{GTIN}/10/{LOT.value}"
                before = node.cpu_s()
                time.sleep(3)
                idle_cpu = (node.cpu_s() - before) / 3
                log(f"idle node: {idle_cpu * 1_000:.0f} ms of CPU a second (its bridge, follower)")
                log(f"node at {url}; json: {requests:,} requests from {CLIENTS} clients…")

                def json_ok(status: int, body: bytes) -> None:
                    if status != 200 or len(json.loads(body)["steps"]) != events:
                        raise SystemExit(f"the JSON answered {status}: {body[:300]!r}")

                json_ms, json_rps, json_cpu = load(
                    node, page, requests, json_ok, {"Accept": "application/json"}
                )
                log(
                    f"json: p99 {percentile(json_ms, 99):.1f} ms, {json_rps:,.0f} requests/s,"
                    f" node CPU {json_cpu:.2f} ms a request; load {os.getloadavg()[0]:.1f}"
                )

                def html_ok(status: int, body: bytes) -> None:
                    text = body.decode()
                    seen = (
                        status,
                        text.count("✓ valid"),
                        text.count('class="excursion"') > 0,
                        text.count("✓ Verified on the ledger"),
                    )
                    if seen != (200, credentials, True, events):
                        raise SystemExit(
                            f"the page answered (status, valid credentials, an excursion drawn,"
                            f" verified steps) {seen}, not {(200, credentials, True, events)}"
                        )

                html_ms, html_rps, html_cpu = load(
                    node, page, requests // 4, html_ok, {"Accept": "text/html"}
                )
                log(
                    f"html: p99 {percentile(html_ms, 99):.1f} ms, {html_rps:,.0f} requests/s,"
                    f" node CPU {html_cpu:.2f} ms a request; load {os.getloadavg()[0]:.1f}"
                )

                def qr_ok(status: int, body: bytes) -> None:
                    if status != 200 or not body.startswith(b"<?xml"):
                        raise SystemExit(f"the QR code answered {status}: {body[:300]!r}")

                qr_url = f"{url}/qr/01/{GTIN}/10/{LOT.value}.svg"
                qr_ms, qr_rps, qr_cpu = load(node, qr_url, requests, qr_ok)
                log(
                    f"qr: p99 {percentile(qr_ms, 99):.1f} ms, {qr_rps:,.0f} requests/s,"
                    f" node CPU {qr_cpu:.2f} ms a request"
                )

                log(f"naive: {naive_count} rebuilds from the chain…")
                naive_ms = naive_load(chain.rpc_url, deployment, naive_count, events)
                log(f"naive: p99 {percentile(naive_ms, 99):.1f} ms")

                started = time.perf_counter()
                answer = httpx.get(
                    f"{url}/api/v1/trace/{LOT.uri}",
                    params={"direction": "backward", "depth": MAX_TRACE_DEPTH},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=600,
                )
                trace_api_s = time.perf_counter() - started
                if answer.status_code != 200 or len(answer.json()["nodes"]) != nodes:
                    raise SystemExit(
                        f"the trace answered {answer.status_code}: {answer.text[:300]}"
                    )
            engine = make_engine(
                f"sqlite:///{state_dir / 'read_model.db'}", sqlite_cache_mib=READ_CACHE_MIB
            )
            try:
                lots = ReadModelLots(engine)
                lots.trace(LOT.uri, direction="backward", depth=MAX_TRACE_DEPTH)  # warm the cache
                started = time.perf_counter()
                walked = lots.trace(LOT.uri, direction="backward", depth=MAX_TRACE_DEPTH)
                trace_s = time.perf_counter() - started
            finally:
                engine.dispose()
            if len(walked.nodes) != nodes:
                raise SystemExit(f"the trace reached {len(walked.nodes)} of {nodes} lots")
            log(f"trace: {nodes:,} lots in {trace_s:.3f} s ({trace_api_s:.3f} s through the API)")

    json_p99 = percentile(json_ms, 99)
    naive_p99 = percentile(naive_ms, 99)
    print(
        json.dumps(
            {
                "bench": "scan",
                "events": events,
                "readings": readings,
                "credentials": credentials,
                "clients": CLIENTS,
                "json_p50_ms": round(percentile(json_ms, 50), 1),
                "json_p99_ms": round(json_p99, 1),
                "json_rps": round(json_rps),
                "json_node_cpu_ms": round(json_cpu, 2),
                "html_p50_ms": round(percentile(html_ms, 50), 1),
                "html_p99_ms": round(percentile(html_ms, 99), 1),
                "html_rps": round(html_rps),
                "html_node_cpu_ms": round(html_cpu, 2),
                "qr_p99_ms": round(percentile(qr_ms, 99), 1),
                "qr_rps": round(qr_rps),
                "qr_node_cpu_ms": round(qr_cpu, 2),
                "idle_node_cpu_ms_per_s": round(idle_cpu * 1_000),
                "load_average": round(os.getloadavg()[0], 1),
                "naive_json_p99_ms": round(naive_p99, 1),
                "ratio": round(naive_p99 / json_p99, 1),
                "trace_100k_s": round(trace_s, 3),
                "trace_api_100k_s": round(trace_api_s, 3),
                "trace_nodes": nodes,
            }
        )
    )


if __name__ == "__main__":
    main()
