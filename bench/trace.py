"""Benchmark: a backward trace over a 100,000-node genealogy, level by level vs node by node.

Builds a read model (SQLite in a temporary folder, deleted afterwards) holding a genealogy of
100,000 lots: each lot made from four others, the links alternating between EPCIS
aggregation edges, `createBatch` parents and transformations joined by transformationID, so
every kind of link the trace follows is on the path. Then times a backward trace from the
final lot over all of it:

- `trace`: `ledger_client.indexer.trace.trace`, one SQL statement per depth level;
- sources: the same walk reading each level from the three tables links are made of
  (`trace_over_sources`, the walk before `genealogy_link`), timed alternately with `trace`;
- naive: the same walk asking the database once per node.

Each timing is wall seconds, with the garbage collector paused as the node pauses it around a
trace; `*_cpu_s` the process's CPU seconds for the same walk.

Prints progress lines, then one JSON line with the figures.

    .venv/bin/python bench/trace.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ledger_client.db import make_engine, table_of
from ledger_client.indexer.genealogy import EpcisEdge, Relation, Side, TransformationPort
from ledger_client.indexer.links import link_genealogy
from ledger_client.indexer.lots import READ_CACHE_MIB
from ledger_client.indexer.queries import Direction
from ledger_client.indexer.read_model import BatchParent, create_read_model
from ledger_client.indexer.source_trace import trace_over_sources
from ledger_client.indexer.trace import MAX_TRACE_DEPTH, naive_trace, trace

NODES = 100_000
FAN_IN = 4
EVENT_BATCH = "0x" + "ee" * 32


def _id(n: int) -> str:
    return "0x" + hashlib.sha256(f"lot-{n}".encode()).hexdigest()


def _uri(n: int) -> str:
    return f"https://id.gs1.org/01/09506000134352/10/L{n}"


def _genealogy(nodes: int) -> dict[type, list[dict[str, Any]]]:
    """Lot n is made from lots FAN_IN*n+1 … FAN_IN*n+FAN_IN (those below `nodes`), by a link
    of the kind n % 3 picks."""
    rows: dict[type, list[dict[str, Any]]] = {
        EpcisEdge: [],
        BatchParent: [],
        TransformationPort: [],
    }
    for child in range(nodes):
        parents = [p for p in range(FAN_IN * child + 1, FAN_IN * child + FAN_IN + 1) if p < nodes]
        if not parents:
            continue
        where = {"batch_id": EVENT_BATCH, "event_index": child, "block_number": 1}
        if child % 3 == 0:
            rows[EpcisEdge] += [
                {
                    **where,
                    "ordinal": i,
                    "source_id": _id(p),
                    "source_uri": _uri(p),
                    "target_id": _id(child),
                    "target_uri": _uri(child),
                    "relation": Relation.AGGREGATION.value,
                }
                for i, p in enumerate(parents)
            ]
        elif child % 3 == 1:
            rows[BatchParent] += [
                {
                    "child_id": _id(child),
                    "parent_id": _id(p),
                    "block_number": 1,
                    "tx_hash": "0x" + "aa" * 32,
                    "log_index": child,
                }
                for p in parents
            ]
        else:
            ports = [(Side.OUTPUT, child), *((Side.INPUT, p) for p in parents)]
            rows[TransformationPort] += [
                {
                    **where,
                    "ordinal": i,
                    "transformation_id": f"urn:uuid:transformation-{child}",
                    "side": side.value,
                    "node_id": _id(n),
                    "node_uri": _uri(n),
                }
                for i, (side, n) in enumerate(ports)
            ]
    return rows


@contextmanager
def paused_collection() -> Iterator[None]:
    """The collector paused and its garbage cleared, as the node runs a trace
    (api/collector.py): otherwise a walk pays for collections the previous one triggered."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timing of each, not three")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as folder:
        engine = make_engine(
            f"sqlite:///{Path(folder) / 'read_model.db'}", sqlite_cache_mib=READ_CACHE_MIB
        )
        try:
            create_read_model(engine)
            _progress(f"building a genealogy of {NODES:,} lots …")
            with Session(engine) as session:
                for model, rows in _genealogy(NODES).items():
                    session.execute(insert(table_of(model)), rows)
                started = time.perf_counter()
                link_genealogy(session)
                session.commit()
            _progress(f"linked in {time.perf_counter() - started:.2f} s")
            root = _id(0)
            timings: dict[str, list[tuple[float, float]]] = {"trace": [], "sources": []}
            walks = {"trace": trace, "sources": trace_over_sources}
            for _ in range(repeats):
                for name, walk in walks.items():
                    with Session(engine) as session, paused_collection():
                        started, cpu = time.perf_counter(), time.process_time()
                        walked = walk(
                            session,
                            identifier=root,
                            direction=Direction.BACKWARD,
                            depth=MAX_TRACE_DEPTH,
                        )
                        timings[name].append(
                            (time.perf_counter() - started, time.process_time() - cpu)
                        )
                    assert len(walked.nodes) == NODES, (name, len(walked.nodes))
            fast, cpu_s = (min(t[i] for t in timings["trace"]) for i in (0, 1))
            sources, sources_cpu_s = (min(t[i] for t in timings["sources"]) for i in (0, 1))
            _progress(f"trace: {NODES:,} nodes in {fast:.3f} s ({cpu_s:.3f} s CPU)")
            _progress(f"sources: {NODES:,} nodes in {sources:.3f} s ({sources_cpu_s:.3f} s CPU)")
            with Session(engine) as session:
                started = time.perf_counter()
                reached = naive_trace(
                    session, root_id=root, direction=Direction.BACKWARD, depth=MAX_TRACE_DEPTH
                )
                naive = time.perf_counter() - started
            assert len(reached) == NODES
            _progress(f"naive: {len(reached):,} nodes in {naive:.3f} s")
        finally:
            engine.dispose()
    print(
        json.dumps(
            {
                "bench": "trace",
                "trace_100k_s": round(fast, 4),
                "trace_cpu_s": round(cpu_s, 4),
                "sources_trace_100k_s": round(sources, 4),
                "sources_trace_cpu_s": round(sources_cpu_s, 4),
                "naive_trace_100k_s": round(naive, 4),
                "ratio": round(naive / fast, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
