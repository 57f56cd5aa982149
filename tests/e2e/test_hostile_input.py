"""Hostile input and a full disk against a real `provenance bridge run` process, over HTTP and
MQTT, on SQLite and PostgreSQL (issue 12, items 2, 5 and 6).

Each hostile body is refused with 4xx or dead-lettered (and its MQTT message acknowledged),
quickly; `/healthz` answers 200 after each; the valid readings sent after it are accepted and
anchored exactly once. A poison MQTT message is dead-lettered once and never comes back after
a restart. A write that fails for want of disk answers 503 with Retry-After and makes the
bridge degraded until a write succeeds again.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ledger_client.db import make_engine
from ledger_client.local_chain import LocalChain, free_port
from oracle_bridge.device import DeviceKey
from oracle_bridge.readings import Reading
from oracle_bridge.sources import reading_topic
from oracle_bridge.sources.mqtt import MqttPublisher
from tests.e2e.e2e_factories import anchored_windows, coverage_problems, wait_for
from tests.factories import BridgeDatabases, Broker
from tests.oracle_bridge.runtime.bridge_runtime_factories import ColdChain, payload

pytestmark = [pytest.mark.e2e, pytest.mark.services]

PROVENANCE = Path(sys.executable).parent / "provenance"
# Hostile input must be answered about as fast as a good batch: bounded work per request.
ANSWER_WITHIN_S = 2.0

# Bodies of `POST /api/v1/readings` -> the status they get (200: every item refused).
HOSTILE_BODIES: dict[str, tuple[bytes, int]] = {
    "lone-surrogate duplicate keys": (b'[{"\\ud800":1,"\\ud800":2}]', 200),
    "NUL duplicate keys": (b'[{"\\u0000":1,"\\u0000":2}]', 200),
    "1 MiB of [0,0,...]": (b"[" + b"0," * 524_286 + b"0]", 413),
    "150,000 {}": (b"[" + b"{}," * 149_999 + b"{}]", 413),
    "5,000-digit integer": (b"[" + b"7" * 5_000 + b"]", 400),
    "100,000-deep nesting": (b"[" * 100_000 + b"]" * 100_000, 400),
    "an item over 4,096 bytes": (b'[{"padding": "' + b"x" * 5_000 + b'"}]', 413),
}
# MQTT messages a bridge must dead-letter (and acknowledge) -> the reason code.
POISON_MESSAGES: dict[str, tuple[bytes, str]] = {
    "lone-surrogate duplicate keys": (b'{"\\ud800":1,"\\ud800":2}', "malformed"),
    "NUL duplicate keys": (b'{"\\u0000":1,"\\u0000":2}', "malformed"),
    "NUL in a key": (b'{"a\\u0000b":1}', "malformed"),
    "5,000-digit integer": (b'{"seq":' + b"7" * 5_000 + b"}", "oversized"),
    "nesting within the size cap": (b"[" * 2_000 + b"]" * 2_000, "malformed"),
}


class BridgeRun:
    """`provenance bridge run` in `directory` (its state directory `.provenance`), restartable
    with the same database and MQTT client id; its output is read as it comes."""

    def __init__(
        self, directory: Path, env: dict[str, str], database_url: str, broker: Broker
    ) -> None:
        self._directory = directory
        self._broker = broker
        self._env = env
        self.client_id = env["PROVENANCE_BRIDGE_MQTT_CLIENT_ID"]
        self.engine: Engine = make_engine(database_url)
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._readers: list[threading.Thread] = []
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(PROVENANCE), "bridge", "run", "--http-port", str(port)],
            env={**os.environ, **self._env},
            cwd=self._directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        reader = threading.Thread(target=self._read, args=(self.process,), name=f"log-{port}")
        reader.start()
        self._readers.append(reader)

        def serving() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log_tail()
            try:
                return self.health()[0] == 200
            except OSError:
                return False

        wait_for(serving, lambda: f"the bridge to serve\n{self.log_tail()}", timeout_s=60)

    def stop(self) -> None:
        """SIGTERM, and a clean exit."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, self.log_tail()
        for reader in self._readers:
            reader.join(10)
        assert "Traceback" not in "".join(self.output), self.log_tail()

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for reader in self._readers:
            reader.join(10)
        self.engine.dispose()
        # The broker forgets the bridge's durable session: a clean start that ends with it.
        with MqttPublisher(
            host=self._broker.host, port=self._broker.port, client_id=self.client_id
        ):
            pass

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)

    def log_tail(self, lines: int = 40) -> str:
        return "".join(self.output[-lines:])

    def post(self, body: bytes) -> tuple[int, object, dict[str, str]]:
        request = urllib.request.Request(
            self.url + "/api/v1/readings",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _answer(response.read()), _headers(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, _answer(exc.read()), _headers(exc.headers)

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def rows(self, sql: str, **params: object) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]

    def dead_letters(self) -> list[tuple[bytes, str, str]]:
        return [
            (bytes(raw), code, reason)
            for raw, code, reason in self.rows(
                "SELECT payload, reason_code, reason FROM bridge_dead_letter ORDER BY id"
            )
        ]


def _answer(body: bytes) -> object:
    """A JSON answer, or its text (a 500's "Internal Server Error")."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


def _headers(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@dataclass
class Device:
    """A registered device of a lot on the bridge's chain, and the seqs it had accepted."""

    cold_chain: ColdChain
    lot: bytes
    key: DeviceKey
    start_time: int = field(default_factory=lambda: int(time.time()) - 3600)
    sent: set[int] = field(default_factory=set)

    def reading(self, seq: int) -> bytes:
        reading = Reading(self.key.address, self.lot, seq, self.start_time + 10 * seq, 5000, 500)
        self.sent.add(seq)
        return payload(self.key.sign(reading, domain=self.cold_chain.domain))

    def next_seq(self) -> int:
        return max(self.sent, default=0) + 1

    def anchoring_problems(self) -> list[str]:
        c = self.cold_chain.consortium
        return coverage_problems(
            anchored_windows(c.w3, c.deployment), {(self.lot, self.key.address): self.sent}
        )


@dataclass
class Scene:
    bridge: BridgeRun
    device: Device
    broker: Broker
    topic_prefix: str

    def publish(self, raw: bytes) -> None:
        with MqttPublisher(host=self.broker.host, port=self.broker.port) as publisher:
            publisher.publish(reading_topic(self.topic_prefix, self.device.key.address), raw)

    def inbox_seqs(self) -> set[int]:
        return {
            seq
            for (seq,) in self.bridge.rows(
                "SELECT seq FROM bridge_inbox_reading WHERE device = :device",
                device=self.device.key.address,
            )
        }

    def valid_readings_are_accepted_and_anchored_once(self) -> None:
        """A valid reading over HTTP, then one over MQTT: each stored, all anchored once."""
        seq = self.device.next_seq()
        status, results, _ = self.bridge.post(b"[" + self.device.reading(seq) + b"]")
        assert (status, [r["status"] for r in results]) == (200, ["accepted"])  # type: ignore[union-attr]
        self.publish(self.device.reading(seq + 1))
        wait_for(lambda: seq + 1 in self.inbox_seqs(), "the valid MQTT reading to be stored")
        wait_for(
            lambda: not self.device.anchoring_problems(),
            lambda: f"every valid reading anchored once: {self.device.anchoring_problems()}",
        )

    def healthy(self) -> None:
        status, health = self.bridge.health()
        assert (status, health["status"], health["conditions"]) == (200, "ok", {}), health


def bridge_env(
    anvil: LocalChain, topic_prefix: str, database_url: str | None = None
) -> dict[str, str]:
    env = {
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_BRIDGE_WINDOW_MAX_AGE_S": "0",
        "PROVENANCE_BRIDGE_POLL_INTERVAL_S": "0.05",
        "PROVENANCE_BRIDGE_CHAIN_BACKOFF_MAX_S": "1",
        "PROVENANCE_BRIDGE_MQTT_TOPIC_PREFIX": topic_prefix,
        "PROVENANCE_BRIDGE_MQTT_SHARED_GROUP": f"hostile-{uuid.uuid4().hex[:8]}",
        "PROVENANCE_BRIDGE_MQTT_CLIENT_ID": f"hostile-bridge-{uuid.uuid4().hex[:12]}",
    }
    if database_url is not None:
        env["PROVENANCE_BRIDGE_DATABASE_URL"] = database_url
    return env


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scene(
    request: pytest.FixtureRequest,
    cold_chain: ColdChain,
    anvil: LocalChain,
    broker: Broker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scene]:
    """One bridge process per backend, shared by the module's tests (each ends healthy)."""
    directory = tmp_path_factory.mktemp(f"hostile-{request.param}")
    cold_chain.consortium.deployment.save(directory / ".provenance" / "deployment.json")
    topic_prefix = f"provenance-test/{uuid.uuid4().hex[:12]}/readings"
    postgres = request.getfixturevalue("postgres_url") if request.param != "sqlite" else None
    databases = BridgeDatabases(request.param, directory, postgres)
    if request.param == "sqlite":
        url = f"sqlite:///{directory / '.provenance' / 'bridge.db'}"
        env = bridge_env(anvil, topic_prefix)
    else:
        url = databases.url()
        env = bridge_env(anvil, topic_prefix, url)
    bridge = BridgeRun(directory, env, url, broker)
    lot = cold_chain.lot()
    try:
        bridge.start()
        yield Scene(bridge, Device(cold_chain, lot, cold_chain.device(lot)), broker, topic_prefix)
        bridge.stop()
    finally:
        bridge.close()
        databases.close()


@pytest.mark.parametrize("case", HOSTILE_BODIES)
def test_a_hostile_http_body_is_refused_quickly_and_the_bridge_goes_on(scene, case):
    body, expected = HOSTILE_BODIES[case]
    bridge = scene.bridge
    letters = bridge.dead_letters()

    started = time.monotonic()
    status, answer, _ = bridge.post(body)
    took = time.monotonic() - started

    assert status == expected, answer
    assert took < ANSWER_WITHIN_S, f"{case} took {took:.1f} s"
    if status == 200:  # each item refused, and kept as a dead letter with its reason
        (result,) = answer  # type: ignore[misc]
        assert result["status"] == "rejected"
        *_, (raw, code, reason) = bridge.dead_letters()
        assert (raw, code, reason) == (body[1:-1], "malformed", result["reason"])
        assert "\\u" in reason, "the reason quotes the key, escaped"
        assert len(bridge.dead_letters()) == len(letters) + 1
    else:
        assert bridge.dead_letters() == letters, "a refused body leaves nothing behind"
    scene.healthy()
    scene.valid_readings_are_accepted_and_anchored_once()
    scene.healthy()


def test_poison_mqtt_messages_are_dead_lettered_once_and_not_redelivered_after_a_restart(scene):
    bridge = scene.bridge
    letters = bridge.dead_letters()
    for raw, _ in POISON_MESSAGES.values():
        scene.publish(raw)
    scene.valid_readings_are_accepted_and_anchored_once()  # behind the poison: acknowledged

    new_letters = bridge.dead_letters()[len(letters) :]
    assert [(raw, code) for raw, code, _ in new_letters] == [
        (raw[:4096], code)
        for raw, code in POISON_MESSAGES.values()  # kept up to the limit
    ]
    scene.healthy()

    bridge.stop()
    bridge.start()
    scene.valid_readings_are_accepted_and_anchored_once()
    time.sleep(0.3)  # nothing of the poison comes back
    assert bridge.dead_letters()[len(letters) :] == new_letters
    scene.healthy()


@pytest.fixture
def sqlite_bridge(cold_chain, anvil, broker, tmp_path) -> Iterator[Scene]:
    cold_chain.consortium.deployment.save(tmp_path / ".provenance" / "deployment.json")
    topic_prefix = f"provenance-test/{uuid.uuid4().hex[:12]}/readings"
    url = f"sqlite:///{tmp_path / '.provenance' / 'bridge.db'}"
    bridge = BridgeRun(tmp_path, bridge_env(anvil, topic_prefix), url, broker)
    lot = cold_chain.lot()
    try:
        bridge.start()
        yield Scene(bridge, Device(cold_chain, lot, cold_chain.device(lot)), broker, topic_prefix)
        bridge.stop()
    finally:
        bridge.close()


def test_a_full_disk_is_503_with_retry_after_and_degraded_health_until_writes_succeed(
    sqlite_bridge,
):
    scene, bridge, device = sqlite_bridge, sqlite_bridge.bridge, sqlite_bridge.device
    scene.valid_readings_are_accepted_and_anchored_once()
    assert bridge.process is not None
    pid = bridge.process.pid
    unlimited = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    batch = [device.reading(seq) for seq in range(device.next_seq(), device.next_seq() + 3)]
    body = b"[" + b",".join(batch) + b"]"

    # The bridge process may write no byte more to any file: its database's disk is full.
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, unlimited[1]))
    try:
        status, answer, headers = bridge.post(body)
        assert status == 503, answer
        assert headers["retry-after"] == "5"
        assert "retry the whole batch later" in answer["detail"]  # type: ignore[index]
        status, health = bridge.health()
        assert (status, health["status"], health["database"]) == (503, "degraded", True)
        assert health["conditions"]["store"].startswith("ingest could not write: ")
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)

    status, answer, _ = bridge.post(body)
    assert (status, [r["status"] for r in answer]) == (200, ["accepted"] * 3)  # type: ignore[union-attr]
    scene.healthy()
    scene.valid_readings_are_accepted_and_anchored_once()
