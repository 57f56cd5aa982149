"""A running node (`provenance bridge run`) honours bearer tokens, records each
authenticated request in the access trail and anchors the trail on its schedule with the
organization's key; `provenance trail verify` then finds it intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger_client.access_trail import AccessTrailClient
from ledger_client.local_chain import free_port
from provenance.cli import app

pytestmark = pytest.mark.integration

PROVENANCE = Path(sys.executable).parent / "provenance"
runner = CliRunner()


def _status(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait(condition, what: str, timeout_s: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_the_node_records_and_anchors_its_trail(members, anvil, tmp_path):
    consortium = members.consortium
    state_dir = tmp_path / "state"
    consortium.deployment.save(state_dir / "deployment.json")
    env = {
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_STATE_DIR": str(state_dir),
        "PROVENANCE_PRIVATE_KEY": "0x" + bytes(consortium.operator.key).hex(),
        "PROVENANCE_API_TRAIL_ANCHOR_INTERVAL_S": "0.5",
    }
    issued = runner.invoke(
        app, ["token", "issue", "--org", members.did(members.auditor), "--role", "auditor"], env=env
    )
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    port = free_port()
    node = subprocess.Popen(
        [str(PROVENANCE), "bridge", "run", "--http-port", str(port), "--no-mqtt"],
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def serving() -> bool:
            assert node.poll() is None, node.communicate()[1]
            try:
                return _status(url + "/healthz") == 200
            except OSError:
                return False

        _wait(serving, "the node's HTTP API")
        assert _status(url + "/api/v1/me") == 401
        assert _status(url + "/api/v1/me", token) == 200
        assert _status(url + "/api/v1/trail", token) == 200
        trail = AccessTrailClient(consortium.sender(consortium.operator), consortium.deployment)
        _wait(lambda: trail.latest(consortium.operator.address)[1] == 2, "the scheduled anchor")
    finally:
        node.send_signal(signal.SIGTERM)
        node.communicate(timeout=30)
    assert node.returncode == 0
    verified = runner.invoke(app, ["trail", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "2 entries" in verified.stdout
