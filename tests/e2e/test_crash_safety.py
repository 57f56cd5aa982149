"""The bridge process is SIGKILLed again and again while devices stream readings over MQTT;
in the end every reading the broker acknowledged is anchored on chain exactly once."""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from ledger_client.db import make_engine
from ledger_client.lifecycle import BatchStatus
from oracle_bridge.readings import SignedReading
from oracle_bridge.rules import Decision
from oracle_bridge.sources import reading_topic
from oracle_bridge.sources.mqtt import MqttPublisher
from oracle_bridge.store import DeviceComplianceState, reading_session
from tests.e2e.e2e_factories import (
    anchored_windows,
    bridge_progress,
    coverage_problems,
    drained,
    readings_of,
    save_deployment,
    steady_readings,
    wait_for,
)
from tests.oracle_bridge.runtime.bridge_runtime_factories import RULE, payload

pytestmark = [pytest.mark.e2e, pytest.mark.services]

BRIDGE_PROCESS = Path(__file__).with_name("bridge_process.py")
DEVICES, READINGS_PER_DEVICE = 5, 1_000
PUBLISH_RATE = 250  # readings/s: 5,000 in 20 s
MIN_KILLS = 10
MAX_BACKLOG = 400  # readings the broker holds for the bridge
EXCURSION_EVERY = 200


def temperature(seq: int) -> int:
    """9 °C at seqs 201-203, 401-403, ...: excursions of 120 s, within RULE's 600 s."""
    return 9000 if seq > EXCURSION_EVERY and seq % EXCURSION_EVERY in (1, 2, 3) else 5000


class BridgeProcesses:
    """Bridge processes forked by `bridge_process.py`; every one is gone after `close()`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log_path = log
        self._log = log.open("w")
        self._parent = subprocess.Popen(
            [sys.executable, str(BRIDGE_PROCESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
        )
        self._started: queue.Queue[int] = queue.Queue()
        self._ready: set[int] = set()
        self._ready_changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self._alive: set[int] = set()

    def start(self) -> int:
        """Fork a bridge; its PID."""
        assert self._parent.stdin is not None
        self._parent.stdin.write("start\n")
        self._parent.stdin.flush()
        try:
            pid = self._started.get(timeout=20)
        except queue.Empty:
            raise AssertionError("the bridge processes' parent does not answer") from None
        self._alive.add(pid)
        return pid

    def wait_ready(self, pid: int, timeout_s: float = 20) -> None:
        with self._ready_changed:
            ready = self._ready_changed.wait_for(lambda: pid in self._ready, timeout_s)
        assert ready, f"bridge process {pid} not subscribed after {timeout_s:g} s"

    def kill(self, pid: int, signum: int = signal.SIGKILL) -> None:
        os.kill(pid, signum)
        # A clean stop lets each thread finish its step first, which Bridge.stop bounds at 30 s.
        timeout_s = 15 if signum == signal.SIGKILL else 45
        try:
            wait_for(lambda: not _exists(pid), f"bridge process {pid} to end", timeout_s=timeout_s)
        except AssertionError as exc:
            os.kill(pid, signal.SIGUSR1)  # its threads' stacks, into the log
            time.sleep(1)
            raise AssertionError(f"{exc}; its log ends:\n{self.log_tail()}") from None
        self._alive.discard(pid)

    def log_tail(self, lines: int = 150) -> str:
        self._log.flush()
        return "\n".join(self._log_path.read_text().splitlines()[-lines:])

    def close(self) -> None:
        for pid in list(self._alive):
            if _exists(pid):
                self.kill(pid)
        assert self._parent.stdin is not None
        self._parent.stdin.close()
        self._parent.wait(timeout=10)
        self._log.close()

    def _read(self) -> None:
        assert self._parent.stdout is not None
        for line in self._parent.stdout:
            kind, pid = line.split()
            if kind == "started":
                self._started.put(int(pid))
            else:
                with self._ready_changed:
                    self._ready.add(int(pid))
                    self._ready_changed.notify_all()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Streaming:
    """Publishes signed readings at QoS 1 at a steady rate in a thread, keeping those the
    broker acknowledged (PUBACK)."""

    def __init__(self, publisher: MqttPublisher, topic_prefix: str, readings: list[SignedReading]):
        self.acknowledged: list[SignedReading] = []
        self.error: BaseException | None = None
        self._publisher = publisher
        self._topic_prefix = topic_prefix
        self._readings = readings
        self._thread = threading.Thread(target=self._publish, name="streaming")
        self._thread.start()

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _publish(self) -> None:
        started = time.monotonic()
        try:
            for index, signed in enumerate(self._readings):
                delay = started + index / PUBLISH_RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                topic = reading_topic(self._topic_prefix, signed.reading.device)
                self._publisher.publish(topic, payload(signed))
                self.acknowledged.append(signed)
        except BaseException as exc:  # noqa: BLE001 - re-raised by join()
            self.error = exc


@pytest.fixture
def bridge_processes() -> Iterator[list[BridgeProcesses]]:
    """Where the test registers its bridge processes, all ended afterwards."""
    started: list[BridgeProcesses] = []
    yield started
    for processes in started:
        processes.close()


def test_every_acknowledged_reading_is_anchored_exactly_once_across_sigkills(
    cold_chain, anvil, broker, topic_prefix, tmp_path, bridge_processes
):
    c = cold_chain.consortium
    lot = cold_chain.lot(RULE)
    devices = [cold_chain.device(lot) for _ in range(DEVICES)]
    start_time = int(time.time()) - 60 * READINGS_PER_DEVICE
    per_device = [
        steady_readings(
            device,
            lot,
            cold_chain.domain,
            count=READINGS_PER_DEVICE,
            start_time=start_time,
            temps=temperature,
        )
        for device in devices
    ]
    readings = [reading for batch in zip(*per_device, strict=True) for reading in batch]
    database = tmp_path / "bridge.db"
    env = {
        **os.environ,
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_STATE_DIR": str(save_deployment(c.deployment, tmp_path / "state")),
        "PROVENANCE_BRIDGE_DATABASE_URL": f"sqlite:///{database}",
        "PROVENANCE_BRIDGE_WINDOW_MAX_AGE_S": "0.5",
        "PROVENANCE_BRIDGE_WINDOW_MAX_READINGS": "300",
        "PROVENANCE_BRIDGE_POLL_INTERVAL_S": "0.05",
        "PROVENANCE_BRIDGE_CHAIN_BACKOFF_MIN_S": "0.1",
        "PROVENANCE_BRIDGE_CHAIN_BACKOFF_MAX_S": "1",
        "PROVENANCE_BRIDGE_MQTT_HOST": broker.host,
        "PROVENANCE_BRIDGE_MQTT_PORT": str(broker.port),
        "PROVENANCE_BRIDGE_MQTT_TOPIC_PREFIX": topic_prefix,
        "PROVENANCE_BRIDGE_MQTT_SHARED_GROUP": f"crash-{uuid.uuid4().hex[:8]}",
        "PROVENANCE_BRIDGE_MQTT_CLIENT_ID": f"crash-bridge-{uuid.uuid4().hex[:8]}",
    }
    processes = BridgeProcesses(env, tmp_path / "bridges.log")
    bridge_processes.append(processes)
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    # The broker keeps the session's messages from its first subscription on.
    pid: int | None = processes.start()
    processes.wait_ready(pid)

    engine: Engine = make_engine(f"sqlite:///{database}")

    def backlog() -> int:
        return len(streaming.acknowledged) - bridge_progress(engine)["inbox"]

    kills = 0
    try:
        with MqttPublisher(host=broker.host, port=broker.port) as publisher:
            streaming = Streaming(publisher, topic_prefix, readings)
            while streaming.running() or kills < MIN_KILLS:
                pid = pid or processes.start()
                # Anywhere from start-up through ingest, windows and anchoring...
                time.sleep(chance.uniform(0.05, 1.5))
                # ...but with the broker's queue for the bridge well under Mosquitto's
                # default limit (max_queued_messages 1000), beyond which it drops messages.
                wait_for(lambda: backlog() < MAX_BACKLOG, lambda: f"backlog {backlog()}")
                processes.kill(pid)
                kills, pid = kills + 1, None
                time.sleep(chance.uniform(0, 0.3))
            streaming.join()

        final = processes.start()
        processes.wait_ready(final)
        wait_for(
            lambda: drained(engine, len(streaming.acknowledged)),
            lambda: (
                f"the bridge to drain after {kills} kills (seed {seed}): {bridge_progress(engine)}"
            ),
            timeout_s=30,
        )
        processes.kill(final, signal.SIGTERM)
        progress = bridge_progress(engine)
        with reading_session(engine) as session:
            halted = [s for s in session.exec(select(DeviceComplianceState)) if s.halted_reason]
    finally:
        engine.dispose()

    context = f"after {kills} kills (random seed {seed}; logs in {tmp_path / 'bridges.log'})"
    assert len(streaming.acknowledged) == len(readings)
    anchored = anchored_windows(c.w3, c.deployment)
    assert coverage_problems(anchored, readings_of(streaming.acknowledged)) == [], context
    assert progress["inbox"] == len(readings), context
    assert (progress["dead_letters"], progress["failed_submissions"], halted) == (0, 0, []), context
    # Each short excursion reached the contract exactly once: started, extended twice, ended.
    decisions = cold_chain.compliance.events.ComplianceDecision.get_logs(
        from_block=c.deployment.deploy_block, argument_filters={"batchId": lot}
    )
    excursions = (READINGS_PER_DEVICE - 1) // EXCURSION_EVERY
    for device in devices:
        mine = [(d.args.seq, d.args.decision) for d in decisions if d.args.device == device.address]
        assert mine == [
            (EXCURSION_EVERY * k + offset, decision)
            for k in range(1, excursions + 1)
            for offset, decision in (
                (1, Decision.EXCURSION_STARTED),
                (2, Decision.EXCURSION_EXTENDED),
                (3, Decision.EXCURSION_EXTENDED),
                (4, Decision.EXCURSION_ENDED),
            )
        ], context
    assert c.writer().batch(lot).status is BatchStatus.ACTIVE
