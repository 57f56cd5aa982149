"""`provenance serve` as a process, from nothing: with no RPC URL it starts the embedded dev
chain (on a port of its own, whatever listens at 8545, another anvil included), deploys,
writes dev tokens, serves the API, its docs and metrics, logs JSON lines when asked, stops
on SIGTERM leaving no anvil; and a second start (here without the bridge) resumes the saved
chain, deployment and tokens."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger_client.local_chain import free_port
from provenance.embedded import DEFAULT_RPC_PORT, DEFAULT_RPC_URL
from tests.provenance.cli_process import PROVENANCE

pytestmark = [pytest.mark.integration, pytest.mark.services]

START_TIMEOUT_S = 180


def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for(condition: Callable[[], object], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def anvils_of(state_dir: Path) -> list[int]:
    """The processes whose command line names `state_dir` (the dev chain's anvil does)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "anvil" in command and str(state_dir) in command:
            found.append(int(entry.name))
    return found


@pytest.fixture
def default_rpc_held() -> Iterator[bool]:
    """Port 8545 held here by a listener that closes every connection (True), or by another
    process, maybe another anvil (False): either way the dev chain must take a port of its
    own, and never use what answers there."""
    server = socket.socket()
    # A port left in TIME_WAIT by an earlier anvil is free to take.
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind(("127.0.0.1", DEFAULT_RPC_PORT))
    except OSError:
        server.close()
        yield False
        return
    server.listen()
    stop = threading.Event()

    def refuse() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    try:
        yield True
    finally:
        stop.set()
        server.close()
        thread.join(5)


class Node:
    """A `provenance serve` process; `stop` sends SIGTERM and collects its output."""

    def __init__(self, tmp_path: Path, state_dir: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Nothing of the caller's PROVENANCE_* settings: no RPC URL, no keys.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
        env |= {
            "PROVENANCE_STATE_DIR": str(state_dir),
            "PROVENANCE_LOG_FORMAT": "json",
            "PROVENANCE_BRIDGE_MQTT_CLIENT_ID": f"test-serve-{uuid.uuid4().hex[:8]}",
            "PROVENANCE_BRIDGE_MQTT_TOPIC_PREFIX": f"test-serve-{uuid.uuid4().hex[:8]}",
        }
        self.process = subprocess.Popen(
            [str(PROVENANCE), "serve", "--port", str(self.port), *args],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_until_serving(self) -> None:
        def serving() -> bool:
            assert self.process.poll() is None, self.process.communicate()[1]
            try:
                return get(self.url + "/docs")[0] == 200
            except OSError:
                return False

        wait_for(serving, "the node's API", START_TIMEOUT_S)

    def stop(self) -> tuple[str, list[dict]]:
        """SIGTERM; returns stdout and the log records, once it exited with status 0."""
        self.process.send_signal(signal.SIGTERM)
        stdout, stderr = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, stderr
        assert "Traceback" not in stderr
        return stdout, [json.loads(line) for line in stderr.splitlines()]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    nodes: list[Node] = []

    def start(state_dir: Path, *args: str) -> Node:
        nodes.append(Node(tmp_path, state_dir, *args))
        return nodes[-1]

    yield start
    for node in nodes:
        node.kill()


def messages(records: list[dict]) -> list[str]:
    return [record["message"] for record in records]


def test_serve_starts_from_nothing_and_a_second_start_resumes(
    default_rpc_held, start_node, tmp_path
):
    state_dir = tmp_path / "state"
    node = start_node(state_dir)
    node.wait_until_serving()

    tokens_path = state_dir / "dev-tokens.json"
    assert stat.S_IMODE(tokens_path.stat().st_mode) == 0o600
    tokens = json.loads(tokens_path.read_text())
    assert set(tokens) == {"operator", "auditor", "quality"}
    status, body = get(node.url + "/api/v1/me", tokens["operator"])
    assert status == 200, body
    assert json.loads(body)["role"] == "OPERATOR"
    assert json.loads(get(node.url + "/api/v1/me", tokens["auditor"])[1])["role"] == "AUDITOR"
    assert get(node.url + "/api/v1/me")[0] == 401
    assert post(node.url + "/api/v1/readings", b"[]") == 200

    status, metrics = get(node.url + "/metrics")
    assert status == 200
    assert 'route="/api/v1/me",status="200"' in metrics
    assert 'route="/api/v1/me",status="401"' in metrics
    assert "provenance_readings_accepted_total 0.0" in metrics
    assert "provenance_inbox_backlog 0.0" in metrics
    wait_for(
        lambda: "provenance_indexer_lag_blocks" in get(node.url + "/metrics")[1],
        "the indexer's first run",
        30,
    )
    deployment = json.loads((state_dir / "deployment.json").read_text())
    assert anvils_of(state_dir)

    stdout, records = node.stop()
    assert "node running: API " + node.url in stdout
    assert stdout.rstrip().endswith("node stopped")
    assert anvils_of(state_dir) == []
    assert (state_dir / "chain-state.json").stat().st_size > 0
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    said = messages(records)
    for event in (
        "dev chain started afresh at http://127.0.0.1:",
        "deployed: Membership ",
        "dev API tokens written to ",
        "node started: API " + node.url,
        "read model caught up with the chain at block ",
        "node stopping",
        "dev chain stopped, its state saved",
    ):
        assert any(m.startswith(event) for m in said), (event, said)
    chain_url = next(m for m in said if m.startswith("dev chain started")).split()[5]
    if default_rpc_held:
        assert chain_url != DEFAULT_RPC_URL  # 8545 is held here: a port of its own

    again = start_node(state_dir, "--no-bridge")
    again.wait_until_serving()
    assert json.loads((state_dir / "deployment.json").read_text()) == deployment
    assert json.loads(tokens_path.read_text()) == tokens
    status, body = get(again.url + "/api/v1/me", tokens["quality"])
    assert status == 200, body
    assert json.loads(body)["role"] == "QUALITY"
    assert post(again.url + "/api/v1/readings", b"[]") == 404  # no bridge, no ingress
    wait_for(
        lambda: "provenance_indexer_lag_blocks" in get(again.url + "/metrics")[1],
        "the indexer's first run",
        30,
    )
    assert "provenance_readings_accepted" not in get(again.url + "/metrics")[1]
    _, records = again.stop()
    said = messages(records)
    assert any(m.startswith("dev chain loaded from ") for m in said), said
    assert not any(m.startswith(("deploying", "deployed", "dev API tokens")) for m in said)
    assert anvils_of(state_dir) == []


def test_a_busy_port_is_one_line_before_anything_starts(tmp_path):
    state_dir = tmp_path / "state"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        process = subprocess.run(
            [str(PROVENANCE), "serve", "--port", str(port)],
            env={**os.environ, "PROVENANCE_STATE_DIR": str(state_dir)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert process.returncode == 1
    assert process.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert process.stderr.rstrip().endswith("pass another --port")
    assert process.stderr.count("\n") == 1
    assert not state_dir.exists()
    assert time.monotonic() - started < 30


def test_an_unknown_log_format_is_one_line(tmp_path):
    process = subprocess.run(
        [str(PROVENANCE), "serve", "--port", str(free_port())],
        env={**os.environ, "PROVENANCE_LOG_FORMAT": "xml", "PROVENANCE_STATE_DIR": "s"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 1
    assert process.stderr == (
        "error: PROVENANCE_LOG_FORMAT='xml' is not a log format: use plain or json\n"
    )
    assert not (tmp_path / "s").exists()


def test_on_a_configured_chain_serve_makes_no_dev_chain_tokens_or_keys(consortium, anvil, tmp_path):
    state_dir = tmp_path / "state"
    consortium.deployment.save(state_dir / "deployment.json")
    port = free_port()
    process = subprocess.Popen(
        [str(PROVENANCE), "serve", "--port", str(port), "--no-mqtt"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")},
            "PROVENANCE_RPC_URL": anvil.rpc_url,
            "PROVENANCE_STATE_DIR": str(state_dir),
            "PROVENANCE_API_TRAIL_ANCHOR_INTERVAL_S": "0",
        },
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def serving() -> bool:
            assert process.poll() is None, process.communicate()[1]
            try:
                return get(url + "/healthz")[0] == 200
            except OSError:
                return False

        wait_for(serving, "the node's API", START_TIMEOUT_S)
        assert get(url + "/api/v1/me")[0] == 401
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"node started: API {url} (/docs, /metrics), chain {anvil.rpc_url}; " in stderr
    assert "dev chain" not in stdout + stderr
    assert sorted(p.name for p in state_dir.iterdir() if not p.name.endswith(("-shm", "-wal"))) == [
        "api.db",
        "bridge.db",
        "credentials.db",
        "deployment.json",
        "read_model.db",
    ]
