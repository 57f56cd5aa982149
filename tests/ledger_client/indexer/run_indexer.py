"""Run the indexer once in its own process, for tests that kill it.

    python run_indexer.py RPC_URL DEPLOYMENT_JSON DATABASE_URL [--chunk-blocks N]
        [--hang-at-event-commit K --marker PATH]

With `--hang-at-event-commit K`, the K-th database commit that would add ledger
events first writes `PATH` (JSON: events visible inside the uncommitted
transaction, events committed so far) and then sleeps instead of committing, so
the caller can SIGKILL the process between its row writes and its commit.
Prints one JSON line with the run's progress and peak memory when it finishes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger_client.chain import connect
from ledger_client.db import make_engine
from ledger_client.deployment import Deployment
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import LedgerEvent


def hang_at_event_commit(engine: Engine, k: int, marker: Path) -> None:
    def events(session: Session) -> int:
        return session.scalar(select(func.count()).select_from(LedgerEvent)) or 0

    with Session(engine) as session:
        state = {"committed": events(session), "event_commits": 0}
    original_commit = Session.commit

    def commit(session: Session) -> None:
        visible = events(session)
        if visible > state["committed"]:
            state["event_commits"] += 1
            if state["event_commits"] == k:
                partial = marker.with_suffix(".tmp")
                partial.write_text(
                    json.dumps({"uncommitted": visible, "committed": state["committed"]})
                )
                os.replace(partial, marker)
                time.sleep(600)
        original_commit(session)
        state["committed"] = visible

    Session.commit = commit  # type: ignore[method-assign]


def peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM). Not `ru_maxrss`: Linux carries the
    high-water mark of the address space an exec replaced, so a child of a large pytest
    process would report the parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rpc_url")
    parser.add_argument("deployment", type=Path)
    parser.add_argument("database_url")
    parser.add_argument("--chunk-blocks", type=int, default=2_000)
    parser.add_argument("--hang-at-event-commit", type=int)
    parser.add_argument("--marker", type=Path)
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    if args.hang_at_event_commit:
        hang_at_event_commit(engine, args.hang_at_event_commit, args.marker)
    indexer = Indexer(
        connect(args.rpc_url),
        Deployment.load(args.deployment),
        engine,
        chunk_blocks=args.chunk_blocks,
    )
    progress = indexer.run_once()
    peak_mb = peak_rss_mb()
    report = {
        "checkpoint": progress.checkpoint,
        "events": progress.events,
        "seconds": progress.seconds,
    }
    print(json.dumps(report | {"peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main()
