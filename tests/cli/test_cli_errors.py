"""The `provenance` command line: bad configuration ends in one clear line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_client.local_chain import free_port

pytestmark = pytest.mark.integration

PROVENANCE = Path(sys.executable).parent / "provenance"


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROVENANCE), *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", [["deploy"], ["index", "rebuild"], ["index", "run"]])
def test_unreachable_rpc_is_one_line_without_traceback(command, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli(*command, env={"PROVENANCE_RPC_URL": url}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("error: no Ethereum node answers at " + url)
    assert "Traceback" not in result.stderr + result.stdout


def test_deployment_record_of_another_chain_is_refused(consortium, anvil, tmp_path):
    record = tmp_path / ".provenance" / "deployment.json"
    type(consortium.deployment)(**{**consortium.deployment.__dict__, "chain_id": 5}).save(record)
    result = run_cli("index", "rebuild", env={"PROVENANCE_RPC_URL": anvil.rpc_url}, cwd=tmp_path)
    assert result.returncode == 1
    assert "deployment record is for chain 5 but the node" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".provenance" / "read_model.db").exists()


def test_missing_deployment_record_says_what_to_run(anvil, tmp_path):
    result = run_cli("index", "run", env={"PROVENANCE_RPC_URL": anvil.rpc_url}, cwd=tmp_path)
    assert result.returncode == 1
    assert "run `provenance deploy` first" in result.stderr


def test_deploy_then_index_rebuild_from_the_chain(anvil, tmp_path):
    env = {"PROVENANCE_RPC_URL": anvil.rpc_url}
    deployed = run_cli("deploy", env=env, cwd=tmp_path)
    assert deployed.returncode == 0, deployed.stderr
    assert (tmp_path / ".provenance" / "deployment.json").exists()
    rebuilt = run_cli("index", "rebuild", env=env, cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt:" in rebuilt.stdout
    assert (tmp_path / ".provenance" / "read_model.db").exists()


@pytest.mark.parametrize(
    ("command", "variables", "line"),
    [
        (
            ["bridge", "run"],
            {"PROVENANCE_BRIDGE_WINDOW_MAX_READINGS": "0"},
            "error: PROVENANCE_BRIDGE_WINDOW_MAX_READINGS: Input should be greater than or equal"
            " to 1",
        ),
        (
            ["bridge", "run"],
            {"PROVENANCE_BRIDGE_SCREENING_WORKERS": "2"},
            "error: PROVENANCE_BRIDGE_SCREENING_WORKERS is now PROVENANCE_BRIDGE_WORKERS",
        ),
        (
            ["credential", "list"],
            {"PROVENANCE_BRIDGE_SCREENING_WORKERS": "2"},
            "error: PROVENANCE_BRIDGE_SCREENING_WORKERS is now PROVENANCE_BRIDGE_WORKERS",
        ),
    ],
    ids=["a bad value", "a renamed variable", "a renamed variable, credential command"],
)
def test_a_bad_bridge_setting_is_one_line_naming_its_variable(command, variables, line, tmp_path):
    result = run_cli(*command, env=variables, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith(line), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
