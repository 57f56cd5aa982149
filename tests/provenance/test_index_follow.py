"""`provenance index run --follow` as a process: it logs its catch-up (JSON lines when
asked), stops on SIGTERM with status 0, and a read model it cannot continue ends it with one
line and status 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ledger_client.db import make_engine
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import create_read_model
from tests.provenance.cli_process import PROVENANCE

pytestmark = pytest.mark.integration


def follow(anvil, state_dir: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(PROVENANCE), "index", "run", "--follow", "--poll", "0.1"],
        env={
            **os.environ,
            "PROVENANCE_RPC_URL": anvil.rpc_url,
            "PROVENANCE_STATE_DIR": str(state_dir),
            "PROVENANCE_LOG_FORMAT": "json",
        },
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_follow_logs_its_catch_up_and_stops_on_sigterm(consortium, anvil, tmp_path):
    state_dir = tmp_path / "state"
    consortium.deployment.save(state_dir / "deployment.json")
    process = follow(anvil, state_dir, tmp_path)
    try:
        database = state_dir / "read_model.db"
        deadline = time.monotonic() + 60
        while not database.exists() and time.monotonic() < deadline:
            assert process.poll() is None
            time.sleep(0.1)
        time.sleep(1.0)  # a few polls
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "following the chain; Ctrl-C stops" in stdout
    records = [json.loads(line) for line in stderr.splitlines()]
    caught_up = [r for r in records if r["message"].startswith("read model caught up")]
    assert len(caught_up) == 1
    assert caught_up[0]["logger"] == "ledger_client.indexer.follower"


def test_a_read_model_of_another_deployment_ends_follow_in_one_line(consortium, anvil, tmp_path):
    state_dir = tmp_path / "state"
    deployment = consortium.deployment
    deployment.save(state_dir / "deployment.json")
    engine = make_engine(f"sqlite:///{state_dir / 'read_model.db'}")
    create_read_model(engine)
    other = type(deployment)(
        chain_id=deployment.chain_id,
        addresses={**deployment.addresses, "ProvenanceLedger": "0x" + "11" * 20},
        deploy_block=deployment.deploy_block,
        deployer=deployment.deployer,
    )
    Indexer(consortium.w3, other, engine).run_once()
    engine.dispose()
    process = follow(anvil, state_dir, tmp_path)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    error = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert error[0].startswith("error: the read model was built from another deployment")
    assert "Traceback" not in stderr
