"""A running node (`provenance bridge run`) writes its quality users' acknowledgement and
release with the organization's key, and lists the quarantine `provenance index` read."""

from __future__ import annotations

import json
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

from ledger_client.ledger import BatchStatus
from ledger_client.local_chain import free_port
from provenance.cli import app
from tests.factories import quarantine_by_rule

pytestmark = pytest.mark.integration

PROVENANCE = Path(sys.executable).parent / "provenance"
LOT = "https://id.gs1.org/01/09506000134352/10/NODE-EXC"
runner = CliRunner()


def _call(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_the_node_acknowledges_and_releases_as_its_organization(members, anvil, tmp_path):
    consortium = members.consortium
    lot = quarantine_by_rule(consortium, LOT)
    state_dir = tmp_path / "state"
    consortium.deployment.save(state_dir / "deployment.json")
    env = {
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_STATE_DIR": str(state_dir),
        "PROVENANCE_PRIVATE_KEY": "0x" + bytes(consortium.quality.key).hex(),
        "PROVENANCE_API_TRAIL_ANCHOR_INTERVAL_S": "0",
    }
    issued = runner.invoke(
        app,
        ["token", "issue", "--org", members.did(consortium.quality), "--role", "quality"],
        env=env,
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
    batch = "0x" + lot.hex()
    try:
        deadline = time.monotonic() + 60
        while not _serving(url):
            assert node.poll() is None, node.communicate()[1]
            assert time.monotonic() < deadline, "the node did not start"
            time.sleep(0.2)
        status, body = _call(f"{url}/api/v1/batches/{batch}/release", token, {"reason": "ok"})
        assert (
            status == 409 and body["detail"]["error"] == "ProvenanceLedgerExcursionNotAcknowledged"
        )
        status, _ = _call(
            f"{url}/api/v1/quarantines/{batch}/acknowledge", token, {"comment": "seen"}
        )
        assert status == 200
        status, _ = _call(f"{url}/api/v1/batches/{batch}/release", token, {"reason": "ok"})
        assert status == 200
        assert consortium.writer().batch(lot).status is BatchStatus.RELEASED
        indexed = runner.invoke(app, ["index", "rebuild"], env=env)
        assert indexed.exit_code == 0, indexed.output
        status, page = _call(f"{url}/api/v1/quarantines", token)
        assert status == 200
        (listed,) = page["quarantines"]
        assert (listed["state"], listed["acknowledgements"][0]["comment"]) == ("closed", "seen")
    finally:
        node.send_signal(signal.SIGTERM)
        node.communicate(timeout=30)
    assert node.returncode == 0
