"""Builders and checks of the end-to-end tests: bridge settings on the real services, device
streams, and what the chain says was anchored."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sqlalchemy import Engine, func, select
from web3 import Web3

from ledger_client.chain import rpc
from ledger_client.config import LedgerSettings
from ledger_client.deployment import Deployment
from oracle_bridge.anchors import READINGS_ANCHORED_TOPIC, AnchoredWindow, decode_readings_anchored
from oracle_bridge.config import BridgeSettings
from oracle_bridge.device import DeviceKey
from oracle_bridge.ingest import Ingestor, IngestResult
from oracle_bridge.readings import Reading, ReadingDomain, SignedReading
from oracle_bridge.store import (
    ComplianceSubmission,
    DeadLetter,
    InboxReading,
    ReadingWindow,
    SubmissionStatus,
    WindowStatus,
    reading_session,
)

# (batch id, device address) -> seqs
Readings = dict[tuple[bytes, str], set[int]]


def wait_for(
    condition: Callable[[], object], what: str | Callable[[], str], timeout_s: float = 30
) -> None:
    """Poll `condition` until it holds; fail naming `what` (called at the failure, when a
    function, to describe the state then)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout_s:g} s waiting for {what() if callable(what) else what}"
            )
        time.sleep(0.05)


def e2e_settings(
    *,
    rpc_url: str,
    state_dir: Path,
    database_url: str,
    topic_prefix: str = "provenance/readings",
    shared_group: str = "provenance-bridge",
    **overrides: object,
) -> BridgeSettings:
    """Bridge settings on the real services: short windows, polls and backoff."""
    values: dict[str, object] = {
        "ledger": LedgerSettings(rpc_url=rpc_url, state_dir=state_dir, receipt_timeout_s=15),
        "database_url": database_url,
        "mqtt_topic_prefix": topic_prefix,
        "mqtt_shared_group": shared_group,
        "window_max_age_s": 0.2,
        "poll_interval_s": 0.05,
        "chain_backoff_min_s": 0.1,
        "chain_backoff_max_s": 1.0,
    }
    values.update(overrides)
    return BridgeSettings(**values)  # type: ignore[arg-type]


def save_deployment(deployment: Deployment, state_dir: Path) -> Path:
    """Write the deployment record where the bridge's settings look for it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    deployment.save(state_dir / "deployment.json")
    return state_dir


class AcknowledgementLost(Exception):
    """Stands for a bridge dying after it stored readings and before it acknowledged them."""


class RecordingIngestor:
    """One bridge instance's ingestor that remembers what it made of every message.

    The next `lose_acknowledgements` calls store their readings and then raise, so the
    transport does not acknowledge them.
    """

    def __init__(self, ingestor: Ingestor) -> None:
        self._ingestor = ingestor
        self._lock = threading.Lock()
        self.results: list[IngestResult] = []
        self.lose_acknowledgements = 0

    def accept(self, raw: bytes, *, source: str) -> IngestResult:
        return self.accept_many([raw], source=source)[0]

    def accept_many(
        self, raws: Sequence[bytes], *, source: str | Sequence[str]
    ) -> list[IngestResult]:
        results = self._ingestor.accept_many(raws, source=source)
        with self._lock:
            self.results += results
            if self.lose_acknowledgements:
                self.lose_acknowledgements -= 1
                raise AcknowledgementLost
        return results

    def count(self) -> int:
        with self._lock:
            return len(self.results)


def steady_readings(
    device: DeviceKey,
    batch_id: bytes,
    domain: ReadingDomain,
    *,
    count: int,
    start_time: int,
    temps: Callable[[int], int] = lambda seq: 5000,
) -> list[SignedReading]:
    """Readings 1..count of `device`, 60 s apart from `start_time`, at `temps(seq)`."""
    return [
        device.sign(
            Reading(
                device=device.address,
                batch_id=batch_id,
                seq=seq,
                timestamp=start_time + 60 * (seq - 1),
                temp_milli_c=temps(seq),
                humidity_permille=500,
            ),
            domain=domain,
        )
        for seq in range(1, count + 1)
    ]


def readings_of(signed: Iterable[SignedReading]) -> Readings:
    expected: Readings = {}
    for s in signed:
        expected.setdefault((s.reading.batch_id, s.reading.device), set()).add(s.reading.seq)
    return expected


def anchored_windows(w3: Web3, deployment: Deployment) -> list[AnchoredWindow]:
    """Every `ReadingsAnchored` log of the deployment's ColdChainCompliance, in chain order."""
    logs = rpc(
        w3,
        "eth_getLogs",
        [
            {
                "address": deployment.address("ColdChainCompliance"),
                "topics": [READINGS_ANCHORED_TOPIC],
                "fromBlock": hex(deployment.deploy_block),
                "toBlock": "latest",
            }
        ],
    )
    return [w for raw in logs if (w := decode_readings_anchored(raw)) is not None]  # type: ignore[union-attr]


def coverage_problems(windows: Iterable[AnchoredWindow], expected: Readings) -> list[str]:
    """Why the anchored `windows` do not hold each `expected` reading exactly once, and
    nothing else, for the expected (batch, device) pairs; empty when they do."""
    problems = []
    windows = [w for w in windows if (w.batch_id, w.device) in expected]
    starts = Counter((w.batch_id, w.device, w.first_seq) for w in windows)
    problems += [
        f"window of {device} on 0x{batch.hex()[:8]} from seq {first} anchored {n} times"
        for (batch, device, first), n in starts.items()
        if n > 1
    ]
    for (batch, device), seqs in expected.items():
        covered = Counter(
            seq
            for w in windows
            if (w.batch_id, w.device) == (batch, device)
            for seq in range(w.first_seq, w.last_seq + 1)
        )
        twice = sorted(seq for seq, n in covered.items() if n > 1)
        missing = sorted(seqs - covered.keys())
        extra = sorted(covered.keys() - seqs)
        for what, found in (("twice", twice), ("never", missing), ("unexpectedly", extra)):
            if found:
                problems.append(
                    f"{device} on 0x{batch.hex()[:8]}: {len(found)} reading(s) anchored {what},"
                    f" seqs {found[:10]}{'…' if len(found) > 10 else ''}"
                )
    return problems


def bridge_progress(engine: Engine) -> dict[str, int]:
    """How far the bridge got: inbox size, readings and windows still open, dead letters."""
    open_submissions = [SubmissionStatus.PENDING, SubmissionStatus.SENT]
    with reading_session(engine) as session:

        def count(model: type, *where: object) -> int:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        return {
            "inbox": count(InboxReading),
            "unwindowed": count(InboxReading, InboxReading.window_id.is_(None)),  # type: ignore[union-attr]
            "unanchored_windows": count(
                ReadingWindow, ReadingWindow.status != WindowStatus.ANCHORED
            ),
            "open_submissions": count(
                ComplianceSubmission,
                ComplianceSubmission.status.in_(open_submissions),  # type: ignore[attr-defined]
            ),
            "failed_submissions": count(
                ComplianceSubmission, ComplianceSubmission.status == SubmissionStatus.FAILED
            ),
            "dead_letters": count(DeadLetter),
        }


def drained(engine: Engine, readings: int) -> bool:
    """Whether all `readings` are in the inbox and everything of them reached the chain."""
    progress = bridge_progress(engine)
    return progress["inbox"] >= readings and not (
        progress["unwindowed"] or progress["unanchored_windows"] or progress["open_submissions"]
    )
