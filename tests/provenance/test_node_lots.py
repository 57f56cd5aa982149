"""A running node (`provenance bridge run`) serves the read model's lots and its bridge's
readings: a trace and a batch over HTTP with a bearer token, 401 without, 404 for a reading
its bridge does not hold."""

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

from ledger_client.db import make_engine
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import create_read_model
from ledger_client.local_chain import free_port
from provenance.cli import app
from tests.ledger_client.indexer.indexer_factories import record
from tests.ledger_client.indexer.trace_factories import (
    EPCIS_ONLY_EVENTS,
    PALLET,
    PALLET_URN,
    SN1,
    SN2,
    A,
    B,
    C,
    D,
)

pytestmark = pytest.mark.integration

PROVENANCE = Path(sys.executable).parent / "provenance"
DEVICE = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
runner = CliRunner()


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_node_serves_traces_batches_and_readings(members, anvil, tmp_path):
    consortium = members.consortium
    writer = consortium.writer()
    record(writer, writer.create_batch(D), EPCIS_ONLY_EVENTS)
    state_dir = tmp_path / "state"
    consortium.deployment.save(state_dir / "deployment.json")
    read_model = make_engine(f"sqlite:///{state_dir / 'read_model.db'}")
    create_read_model(read_model)
    Indexer(consortium.w3, consortium.deployment, read_model).run_once()
    read_model.dispose()
    env = {
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_STATE_DIR": str(state_dir),
        "PROVENANCE_PRIVATE_KEY": "0x" + bytes(consortium.operator.key).hex(),
        "PROVENANCE_API_TRAIL_ANCHOR_INTERVAL_S": "0",
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
        deadline = time.monotonic() + 60
        while True:
            assert node.poll() is None, node.communicate()[1]
            try:
                if _get(url + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the node's HTTP API did not come up"
            time.sleep(0.1)

        assert _get(f"{url}/api/v1/trace/{PALLET_URN}")[0] == 401
        status, trace = _get(f"{url}/api/v1/trace/{PALLET_URN}", token)
        assert status == 200, trace
        assert {n["uri"] for n in trace["nodes"]} == {PALLET, SN1, SN2, C, A, B}
        status, batch = _get(f"{url}/api/v1/batches/{D}", token)
        assert status == 200, batch
        assert (batch["uri"], batch["readings"]) == (D, [])
        status, proof = _get(f"{url}/api/v1/readings/{DEVICE}/1/proof", token)
        assert status == 404 and "no reading 1" in proof["detail"]
    finally:
        node.send_signal(signal.SIGTERM)
        node.communicate(timeout=30)
    assert node.returncode == 0
