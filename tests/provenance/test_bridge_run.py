"""`provenance bridge run` as a process: HTTP and MQTT ingress into the real bridge on anvil,
windows anchored, and a clean stop on SIGTERM or Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger_client.local_chain import free_port
from provenance.cli import app
from tests.oracle_bridge.runtime.bridge_runtime_factories import ORACLE, ColdChain

pytestmark = [pytest.mark.integration, pytest.mark.services]

PROVENANCE = Path(sys.executable).parent / "provenance"


class BridgeProcess:
    def __init__(self, process: subprocess.Popen[str], url: str, state_dir: Path) -> None:
        self.process = process
        self.url = url
        self.database = state_dir / "bridge.db"

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()

    def stop(self, signum: int) -> subprocess.CompletedProcess[str]:
        self.process.send_signal(signum)
        stdout, stderr = self.process.communicate(timeout=30)
        return subprocess.CompletedProcess(
            self.process.args, self.process.returncode, stdout, stderr
        )


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def run_bridge(consortium, anvil, broker, tmp_path) -> Iterator[Callable[..., BridgeProcess]]:
    """Starts `provenance bridge run` on the consortium's deployment; kills what is left."""
    consortium.deployment.save(tmp_path / ".provenance" / "deployment.json")
    processes: list[subprocess.Popen[str]] = []

    def start(**env: str) -> BridgeProcess:
        port = free_port()
        process = subprocess.Popen(
            [str(PROVENANCE), "bridge", "run", "--http-port", str(port)],
            env={
                **os.environ,
                "PROVENANCE_RPC_URL": anvil.rpc_url,
                "PROVENANCE_BRIDGE_WINDOW_MAX_AGE_S": "0",
                "PROVENANCE_BRIDGE_POLL_INTERVAL_S": "0.05",
                "PROVENANCE_BRIDGE_MQTT_CLIENT_ID": f"test-bridge-{uuid.uuid4().hex[:8]}",
                **env,
            },
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        return BridgeProcess(process, f"http://127.0.0.1:{port}", tmp_path / ".provenance")

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def wait_until_serving(bridge: BridgeProcess) -> None:
    def serving() -> bool:
        assert bridge.process.poll() is None, bridge.process.communicate()[1]
        try:
            return bridge.health()[0] == 200
        except OSError:
            return False

    wait_for(serving, "the bridge's HTTP API")


def test_readings_over_http_and_mqtt_are_stored_and_anchored_then_sigterm_stops_cleanly(
    consortium, run_bridge, broker, topic_prefix
):
    cold_chain = ColdChain(consortium, ORACLE)
    batch_id = cold_chain.lot()
    device = cold_chain.device(batch_id)
    bridge = run_bridge(PROVENANCE_BRIDGE_MQTT_TOPIC_PREFIX=topic_prefix)
    wait_until_serving(bridge)
    assert bridge.health() == (
        200,
        {"status": "ok", "database": True, "chain": True, "inbox_backlog": 0, "conditions": {}},
    )
    request = urllib.request.Request(bridge.url + "/api/v1/auth/challenge", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["domain"] == bridge.url.removeprefix("http://")

    simulate = [
        "device", "simulate",
        "--lot", "0x" + batch_id.hex(), "--count", "3", "--chain-id", "31337",
        "--contract", cold_chain.domain.verifying_contract,
    ]  # fmt: skip
    device_key = {"PROVENANCE_DEVICE_KEY": "0x" + device.private_key.hex()}
    start = int(time.time()) - 600
    over_http = CliRunner().invoke(
        app, [*simulate, "--start-time", str(start), "--url", bridge.url], env=device_key
    )
    assert over_http.exit_code == 0, over_http.output
    assert "3 accepted" in over_http.stdout
    over_mqtt = CliRunner().invoke(
        app,
        [*simulate, "--start-seq", "4", "--start-time", str(start + 180)]
        + ["--transport", "mqtt", "--topic-prefix", topic_prefix],
        env=device_key,
    )
    assert over_mqtt.exit_code == 0, over_mqtt.output

    inbox = "SELECT seq, source FROM bridge_inbox_reading WHERE device = ? ORDER BY seq"
    wait_for(lambda: len(bridge.query(inbox, device.address)) == 6, "the MQTT readings")
    sources = [source.split(":")[0] for _, source in bridge.query(inbox, device.address)]
    assert sources == ["http"] * 3 + ["mqtt"] * 3
    windows = "SELECT status, last_seq FROM bridge_reading_window WHERE device = ?"
    wait_for(
        lambda: (
            {row for row in bridge.query(windows, device.address) if row[0] == "ANCHORED"}
            and max(seq for _, seq in bridge.query(windows, device.address)) == 6
            and {status for status, _ in bridge.query(windows, device.address)} == {"ANCHORED"}
        ),
        "the windows to be anchored",
    )
    assert bridge.health()[1]["inbox_backlog"] == 0

    stopped = bridge.stop(signal.SIGTERM)
    assert stopped.returncode == 0, stopped.stderr
    assert "bridge stopped" in stopped.stdout
    assert "Traceback" not in stopped.stderr


def test_ctrl_c_stops_the_bridge_cleanly(run_bridge, topic_prefix):
    bridge = run_bridge(PROVENANCE_BRIDGE_MQTT_TOPIC_PREFIX=topic_prefix)
    wait_until_serving(bridge)
    stopped = bridge.stop(signal.SIGINT)
    assert stopped.returncode == 0, stopped.stderr
    assert "bridge stopped" in stopped.stdout
    assert "Traceback" not in stopped.stderr


def test_an_unreachable_broker_is_one_line_that_suggests_no_mqtt(run_bridge):
    port = free_port()
    bridge = run_bridge(PROVENANCE_BRIDGE_MQTT_PORT=str(port))
    stdout, stderr = bridge.process.communicate(timeout=60)
    assert bridge.process.returncode == 1
    error = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert error == [
        f"error: no MQTT broker answers at 127.0.0.1:{port} ([Errno 111] Connection refused); "
        "start the broker or point the bridge at another one (or run with --no-mqtt)"
    ]
    assert "Traceback" not in stderr


def test_a_busy_http_port_is_one_line(run_bridge):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = subprocess.run(
            [str(PROVENANCE), "bridge", "run", "--http-port", str(port), "--no-mqtt"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert process.returncode == 1
    assert process.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert process.stderr.count("\n") == 1
