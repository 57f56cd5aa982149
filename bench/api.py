"""Benchmark: the member node's API under load, against the naive way, in one run.

Starts `provenance serve --no-bridge` as a user does, on its embedded dev chain (anvil,
1 s blocks) with a fresh PROVENANCE_STATE_DIR, and talks to it over loopback with the
operator's and auditor's tokens from dev-tokens.json:

- capture: EPCIS documents through `POST /api/v1/capture` until every event is anchored and
  in the read model (`capture_events_per_s`);
- query: `GET /api/v1/events?MATCH_epc=…&perPage=100` from 16 concurrent clients;
- proof: `GET /api/v1/events/{eventID}/proof` from 16 concurrent clients;
- naive: the same query answered from the chain per request, as a client without a read
  model would (the lot's `EventRecorded` logs, each transaction's calldata decoded with
  web3, the payloads filtered in Python), from 16 concurrent clients;
- trace: `GET /api/v1/trace/{id}` backward over a genealogy of aggregation edges
  (`trace_nodes` nodes) written straight into the node's read model (capturing them would
  take the chain minutes), and the same trace in the read model alone.

The query and proof clients are aiohttp sessions on one event loop, one keep-alive
connection each, so they cost a fraction of the node's CPU; the naive clients are web3's,
as such a client would be. Each phase reports CPU per request (node, chain, clients).

Each bench lot is tracked by one serialized item its events' epcList names, so MATCH_epc
selects the lot's history. Progress goes to stderr, one JSON line to stdout.

    .venv/bin/python bench/api.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import orjson
from sqlmodel import Session
from web3 import Web3

from ledger_client.db import make_engine
from ledger_client.deployment import Deployment
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.genealogy import EpcisEdge, GenealogyLink, genealogy_rows
from ledger_client.indexer.trace import trace
from ledger_client.local_chain import free_port

CLIENTS = 16
GTIN = "09506000134352"
CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"]
# What one capture job may carry by default (PROVENANCE_API_CAPTURE_MAX_EVENTS).
MAX_EVENTS_PER_DOCUMENT = 1_000
PROVENANCE = Path(sys.executable).with_name("provenance")


@dataclass(frozen=True)
class Node:
    """A running `provenance serve`: its API, chain, state directory and dev tokens."""

    url: str
    rpc_url: str
    state_dir: Path
    tokens: dict[str, str]
    pid: int

    def cpu_s(self) -> tuple[float, float]:
        """CPU seconds the node's process and its dev chain (its child, anvil) have used."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return _cpu_s(self.pid), sum(_cpu_s(int(child)) for child in children)


def _cpu_s(pid: int) -> float:
    # utime and stime, fields 14 and 15 of /proc/PID/stat, counted after the command's name.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def running_node(state_dir: Path, timeout_s: float = 300.0) -> Iterator[Node]:
    """`provenance serve --no-bridge --no-mqtt` on a free port with `state_dir` fresh; stopped
    with SIGTERM (which stops its dev chain) on the way out."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env["PROVENANCE_STATE_DIR"] = str(state_dir)
    # The clients share one token each: measured, not throttled by the per-token budget.
    env["PROVENANCE_API_RATE_PER_S"] = "100000"
    env["PROVENANCE_API_RATE_BURST"] = "1000000"
    log_path = state_dir.parent / "node.log"
    with open(log_path, "wb") as node_log:
        process = subprocess.Popen(
            [str(PROVENANCE), "serve", "--port", str(port), "--no-bridge", "--no-mqtt"],
            env=env,
            stdout=node_log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        node = _wait_ready(process, url, state_dir, log_path, timeout_s)
        yield node
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(
    process: subprocess.Popen, url: str, state_dir: Path, log_path: Path, timeout_s: float
) -> Node:
    deadline = time.monotonic() + timeout_s
    tokens_path = state_dir / "dev-tokens.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"provenance serve stopped:\n{log_path.read_text()[-3000:]}")
        if tokens_path.exists():
            tokens = json.loads(tokens_path.read_text())
            try:
                answer = httpx.get(
                    f"{url}/api/v1/me",
                    headers={"Authorization": f"Bearer {tokens['operator']}"},
                    timeout=5,
                )
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code == 200:
                rpc_url = _chain_url(log_path.read_text())
                return Node(url, rpc_url, state_dir, tokens, process.pid)
        time.sleep(0.5)
    raise SystemExit(f"provenance serve did not start in {timeout_s:.0f}s")


def _chain_url(node_log: str) -> str:
    for line in node_log.splitlines():
        if "starting the node on " in line:
            return line.split("starting the node on ")[1].rstrip("…").strip()
    raise SystemExit("provenance serve did not say which chain it runs on")


def item_of(lot: int) -> str:
    """The serialized item that stands for bench lot `lot`."""
    return DigitalLink.item(GTIN, f"LOT{lot:05d}").uri


def event_id(lot: int, n: int) -> str:
    return f"urn:uuid:7b0c6a2e-{lot % 65536:04x}-4d1f-8c3b-{n:012x}"


def make_event(lot: int, n: int) -> dict:
    """A ~450-byte ObjectEvent of the lot's item: an observation somewhere on its way."""
    step = ("receiving", "storing", "shipping", "inspecting")[n % 4]
    return {
        "type": "ObjectEvent",
        "eventID": event_id(lot, n),
        "eventTime": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00.000Z",
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "bizStep": step,
        "disposition": "in_progress",
        "epcList": [item_of(lot)],
        "readPoint": {"id": "https://id.gs1.org/414/9506000000001"},
        "bizLocation": {"id": "https://id.gs1.org/414/9506000000018"},
    }


def documents(lots: int, per_lot: int) -> list[dict]:
    """EPCISDocuments of whole lots, up to the capture limit each, so no two concurrent
    jobs create the same lot."""
    lots_per_document = max(1, MAX_EVENTS_PER_DOCUMENT // per_lot)
    result = []
    for first in range(0, lots, lots_per_document):
        events = [
            make_event(lot, n)
            for lot in range(first, min(lots, first + lots_per_document))
            for n in range(per_lot)
        ]
        result.append(
            {
                "@context": CONTEXT,
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2026-12-01T00:00:00.000Z",
                "epcisBody": {"eventList": events},
            }
        )
    return result


def indexed_events(state_dir: Path) -> int:
    """Events in the node's read model (its SQLite file, read-only)."""
    database = sqlite3.connect(f"file:{state_dir / 'read_model.db'}?mode=ro", uri=True)
    try:
        return database.execute("SELECT count(*) FROM epcis_event").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        database.close()


def capture(node: Node, docs: list[dict], total: int) -> float:
    """Every document captured by 16 clients (each posts one, polls its job until it ends,
    then posts the next); events per second from the first post until the read model
    holds them all."""
    headers = {"Authorization": f"Bearer {node.tokens['operator']}"}
    bodies = [json.dumps(d).encode() for d in docs]
    captured = [0]

    def post(body: bytes, events: int) -> None:
        with httpx.Client(base_url=node.url, headers=headers, timeout=600) as client:
            answer = client.post(
                "/api/v1/capture", content=body, headers={"Content-Type": "application/json"}
            )
            if answer.status_code != 202:
                raise SystemExit(f"capture refused: {answer.status_code} {answer.text[:500]}")
            job_url = answer.headers["Location"]
            while True:
                job = client.get(job_url).json()
                if job["state"] == "FAILED":
                    raise SystemExit(f"capture job failed: {job['errors']}")
                if job["state"] == "SUCCESS":
                    break
                # Not faster: 16 clients polling at 10 Hz took the node's CPU from capture.
                time.sleep(0.5)
        captured[0] += events

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [
            pool.submit(post, body, len(d["epcisBody"]["eventList"]))
            for body, d in zip(bodies, docs, strict=True)
        ]
        indexed, said = 0, (-1, -1)
        while indexed < total:
            for future in [f for f in futures if f.done()]:
                future.result()  # a refused capture stops the bench
            time.sleep(0.2)
            indexed = indexed_events(node.state_dir)
            if (captured[0], indexed) != said:
                said = (captured[0], indexed)
                log(f"  captured {captured[0]:,} events, indexed {indexed:,} of {total:,}")
            if time.perf_counter() - started > 3_600:
                raise SystemExit("the events were not indexed within an hour")
    return total / (time.perf_counter() - started)


@contextmanager
def cpu_per_request(node: Node | None, what: str, count: Callable[[], int]) -> Iterator[None]:
    """Says where the CPU went per request while the block ran: the node, its chain, and
    these clients (this process)."""
    before = (node.cpu_s() if node else (0.0, 0.0), time.process_time())
    yield
    if node is None:
        return
    (server, chain), client = node.cpu_s(), time.process_time()
    per = 1_000 / max(1, count())
    log(
        f"  {what} CPU per request: node {(server - before[0][0]) * per:.1f} ms, "
        f"chain {(chain - before[0][1]) * per:.1f} ms, clients {(client - before[1]) * per:.1f}"
        f" ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def under_load(
    requests: Sequence[Callable[[], None]], node: Node | None = None, what: str = ""
) -> tuple[list[float], float]:
    """Run `requests` from 16 concurrent clients (threads); each one's latency (ms) and the
    requests per second over the whole run."""
    latencies: list[float] = []

    def timed(request: Callable[[], None]) -> None:
        started = time.perf_counter()
        request()
        latencies.append((time.perf_counter() - started) * 1_000)

    with cpu_per_request(node, what, lambda: len(requests)):
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for future in [pool.submit(timed, r) for r in requests]:
                future.result()
        elapsed = time.perf_counter() - started
    return latencies, len(requests) / elapsed


def api_under_load(
    node: Node, paths: list[str], check: Callable[[int, bytes], None], what: str
) -> tuple[list[float], float]:
    """`GET` each of `paths` from 16 concurrent clients, each on its own keep-alive
    connection (aiohttp on one event loop: a client's CPU per request is a fraction of the
    node's, so the figures measure the node); latencies (ms) and requests per second."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {node.tokens['auditor']}"}

    async def client(pending: Iterator[str]) -> None:
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(
            node.url, headers=headers, connector=connector, timeout=timeout
        ) as session:
            for path in pending:
                started = time.perf_counter()
                async with session.get(path) as answer:
                    body = await answer.read()
                latencies.append((time.perf_counter() - started) * 1_000)
                check(answer.status, body)

    async def run() -> float:
        pending = iter(paths)
        started = time.perf_counter()
        await asyncio.gather(*(client(pending) for _ in range(CLIENTS)))
        return time.perf_counter() - started

    with cpu_per_request(node, what, lambda: len(paths)):
        elapsed = asyncio.run(run())
    return latencies, len(paths) / elapsed


def percentile(values: list[float], q: int) -> float:
    """The `q`th percentile (1..99) of `values`."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def check_page(per_lot: int) -> Callable[[int, bytes], None]:
    def check(status: int, body: bytes) -> None:
        if status != 200:
            raise SystemExit(f"query answered {status}: {body[:300]!r}")
        events = orjson.loads(body)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        if len(events) != min(100, per_lot):
            raise SystemExit(f"query answered {len(events)} events, not {min(100, per_lot)}")

    return check


def check_proof(status: int, body: bytes) -> None:
    if status != 200 or not orjson.loads(body)["verified"]:
        raise SystemExit(f"proof answered {status}: {body[:300]!r}")


def naive_query(w3: Web3, ledger, epc: str, batch_id: bytes, per_page: int) -> list[dict]:
    """The first page of the item's events rebuilt from the chain: its EventRecorded logs,
    each transaction's calldata decoded with web3, the payloads filtered in Python."""
    logs = ledger.events.EventRecorded.get_logs(
        argument_filters={"batchId": batch_id}, from_block=0, to_block="latest"
    )
    calls: dict[bytes, dict] = {}
    events = []
    for entry in logs:
        tx_hash = bytes(entry["transactionHash"])
        if tx_hash not in calls:
            tx = w3.eth.get_transaction(tx_hash)
            calls[tx_hash] = ledger.decode_function_input(tx["input"])[1]
        event = json.loads(calls[tx_hash]["payloads"][entry["args"]["position"]])
        if epc in event.get("epcList", ()):
            events.append(event)
        if len(events) == per_page:
            break
    return events


def naive_requests(node: Node, lots: list[int], per_lot: int) -> list[Callable[[], None]]:
    deployment = Deployment.load(node.state_dir / "deployment.json")
    # One web3 per client, as 16 separate clients would have.
    handles = []
    for _ in range(CLIENTS):
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 120}))
        handles.append((w3, deployment.contract(w3, "ProvenanceLedger")))

    def request(lot: int, handle) -> Callable[[], None]:
        def run() -> None:
            w3, ledger = handle
            link = DigitalLink.item(GTIN, f"LOT{lot:05d}")
            found = naive_query(w3, ledger, link.uri, link.batch_id, 100)
            if len(found) != min(100, per_lot):
                raise SystemExit(f"the naive query found {len(found)} events")

        return run

    return [request(lot, handles[i % CLIENTS]) for i, lot in enumerate(lots)]


_LINK_FIELDS = (
    "source_id",
    "source_uri",
    "target_id",
    "target_uri",
    "relation",
    "batch_id",
    "event_index",
    "block_number",
)


def genealogy(database_url: str, nodes: int, fanout: int = 4) -> tuple[str, int]:
    """Write a genealogy of `nodes` logistic units into the read model at `database_url`:
    each container holding `fanout` children, as aggregation events record them (their
    edges only, straight into `epcis_edge`: capturing them would take the chain minutes).
    Returns its top container and its depth."""
    engine = make_engine(database_url)
    uris = [f"urn:epc:id:sscc:9506000.{n:010d}" for n in range(nodes)]
    rows = []
    for parent in range(nodes):
        children = range(parent * fanout + 1, min(nodes, parent * fanout + 1 + fanout))
        if not children:
            break
        event = {
            "type": "AggregationEvent",
            "action": "ADD",
            "parentID": uris[parent],
            "childEPCs": [uris[c] for c in children],
        }
        # Batch ids of no batch, so nothing else in the read model is touched.
        key = {"batch_id": "0x" + f"{parent:064x}", "event_index": 0, "block_number": 0}
        rows += genealogy_rows(event, key)[0]
    # Their links as the indexer would make them (`link_genealogy` links by block, and the
    # node's indexer has its own rows at block 0).
    links = [{k: r[k] for k in _LINK_FIELDS} for r in rows]
    with Session(engine) as session:
        session.bulk_insert_mappings(EpcisEdge, rows)
        session.bulk_insert_mappings(GenealogyLink, links)
        session.commit()
    engine.dispose()
    depth, reach = 0, 1
    while reach < nodes:
        depth += 1
        reach += fanout**depth
    return uris[0], depth


def trace_seconds(node: Node, database_url: str, nodes: int) -> tuple[float, float, int]:
    """A backward trace from the top of a `nodes`-node genealogy: its seconds through
    `GET /api/v1/trace/{id}` and through the read model alone, and its depth."""
    root, depth = genealogy(database_url, nodes)
    headers = {"Authorization": f"Bearer {node.tokens['auditor']}"}
    started = time.perf_counter()
    answer = httpx.get(
        f"{node.url}/api/v1/trace/{root}",
        params={"direction": "backward", "depth": depth},
        headers=headers,
        timeout=600,
    )
    api_s = time.perf_counter() - started
    if answer.status_code != 200 or len(answer.json()["nodes"]) != nodes:
        raise SystemExit(f"the trace answered {answer.status_code}: {answer.text[:300]}")
    engine = make_engine(database_url)
    with Session(engine) as session:
        started = time.perf_counter()
        result = trace(session, identifier=root, direction="backward", depth=depth)
        read_model_s = time.perf_counter() - started
    engine.dispose()
    if len(result.nodes) != nodes:
        raise SystemExit(f"the trace reached {len(result.nodes)} of {nodes} nodes")
    return api_s, read_model_s, depth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2,000 events over 20 lots, a 2,000-node genealogy, fewer requests",
    )
    args = parser.parse_args()
    lots, per_lot, trace_nodes, queries, proofs, naive_count = (
        (20, 100, 2_000, 800, 400, 48) if args.quick else (1_000, 100, 100_000, 8_000, 4_000, 320)
    )
    total = lots * per_lot
    chooser = random.Random(7)

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        log("starting provenance serve on its embedded dev chain…")
        with running_node(directory / "state") as node:
            log(f"node at {node.url}, chain {node.rpc_url}")
            docs = documents(lots, per_lot)
            log(f"capturing {total:,} events over {lots:,} lots in {len(docs)} documents…")
            capture_rate = capture(node, docs, total)
            log(f"capture: {capture_rate:,.0f} events/s through POST /capture, anchored, indexed")

            picked = [chooser.randrange(lots) for _ in range(queries)]
            paths = [f"/api/v1/events?MATCH_epc={item_of(lot)}&perPage=100" for lot in picked]
            query_ms, query_rps = api_under_load(node, paths, check_page(per_lot), "query")
            log(f"query: p99 {percentile(query_ms, 99):.1f} ms, {query_rps:,.0f} requests/s")

            ids = [
                event_id(chooser.randrange(lots), chooser.randrange(per_lot)) for _ in range(proofs)
            ]
            paths = [f"/api/v1/events/{event}/proof" for event in ids]
            proof_ms, proof_rps = api_under_load(node, paths, check_proof, "proof")
            log(f"proof: p99 {percentile(proof_ms, 99):.1f} ms, {proof_rps:,.0f} requests/s")

            naive_ms, naive_rps = under_load(
                naive_requests(
                    node, [chooser.randrange(lots) for _ in range(naive_count)], per_lot
                ),
                node,
                "naive",
            )
            log(f"naive: p99 {percentile(naive_ms, 99):.1f} ms, {naive_rps:,.1f} requests/s")

            log(f"trace: writing a {trace_nodes:,}-node genealogy into the read model…")
            read_model = f"sqlite:///{node.state_dir / 'read_model.db'}"
            trace_s, trace_read_model_s, depth = trace_seconds(node, read_model, trace_nodes)
            log(
                f"trace: {trace_nodes:,} nodes, {depth} levels: {trace_s:.3f}s through the API, "
                f"{trace_read_model_s:.3f}s of it in the read model"
            )

    query_p99 = percentile(query_ms, 99)
    naive_p99 = percentile(naive_ms, 99)
    print(
        json.dumps(
            {
                "bench": "api",
                "events": total,
                "lots": lots,
                "clients": CLIENTS,
                "capture_events_per_s": round(capture_rate),
                "query_p50_ms": round(percentile(query_ms, 50), 1),
                "query_p99_ms": round(query_p99, 1),
                "query_rps": round(query_rps),
                "proof_p99_ms": round(percentile(proof_ms, 99), 1),
                "trace_100k_s": round(trace_s, 3),
                "trace_nodes": trace_nodes,
                "trace_read_model_s": round(trace_read_model_s, 3),
                "naive_query_p99_ms": round(naive_p99, 1),
                "naive_query_rps": round(naive_rps, 1),
                "ratio": round(naive_p99 / query_p99, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
