"""The `provenance` command line: bad configuration ends in one clear line and exit 1."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ledger_client.local_chain import free_port
from tests.provenance.cli_process import PROVENANCE, run_cli

pytestmark = pytest.mark.integration


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


def test_deploy_and_index_as_json(anvil, tmp_path):
    env = {"PROVENANCE_RPC_URL": anvil.rpc_url}
    deployed = run_cli("deploy", "--json", env=env, cwd=tmp_path)
    assert deployed.returncode == 0, deployed.stderr
    document = json.loads(deployed.stdout)
    record = json.loads((tmp_path / ".provenance" / "deployment.json").read_text())
    assert document["chainId"] == record["chain_id"] == 31337
    assert document["addresses"] == record["addresses"]
    assert document["deployBlock"] == record["deploy_block"]
    assert document["record"] == str(Path(".provenance") / "deployment.json")
    rebuilt = json.loads(run_cli("index", "rebuild", "--json", env=env, cwd=tmp_path).stdout)
    assert rebuilt["start_block"] == record["deploy_block"]
    assert rebuilt["logs"] > 0 and rebuilt["checkpoint"] >= rebuilt["start_block"]
    again = json.loads(run_cli("index", "run", "--json", env=env, cwd=tmp_path).stdout)
    assert again["logs"] == 0 and again["checkpoint"] >= rebuilt["checkpoint"]
    both = run_cli("index", "run", "--json", "--follow", env=env, cwd=tmp_path)
    assert_one_error_line(both, "error: --json prints one run's figures")


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
            {"PROVENANCE_BRIDGE_CREDENTIAL_DATABASE_URL": "sqlite:///elsewhere.db"},
            "error: PROVENANCE_BRIDGE_CREDENTIAL_DATABASE_URL is now "
            "PROVENANCE_CREDENTIAL_DATABASE_URL: rename it",
        ),
        (
            ["credential", "list"],
            {"PROVENANCE_CREDENTIAL_DATABASE_URL": "nosuchengine://x"},
            "error: unsupported database URL scheme 'nosuchengine': set "
            "PROVENANCE_CREDENTIAL_DATABASE_URL to sqlite:///path or postgresql://user@host/db",
        ),
    ],
    ids=[
        "a bad value",
        "a renamed variable",
        "a moved variable, credential command",
        "a bad value, credential command",
    ],
)
def test_a_bad_setting_is_one_line_naming_its_variable(command, variables, line, tmp_path):
    result = run_cli(*command, env=variables, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith(line), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def assert_one_error_line(result: subprocess.CompletedProcess[str], start: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(start), result.stderr


@pytest.mark.parametrize(
    ("command", "url"),
    [
        (["deploy"], "notaurl"),
        (["deploy"], "ftp://127.0.0.1:8545"),
        (["index", "rebuild"], "http://[::1"),
        (["index", "run"], "http://127.0.0.1:port"),
        (["bridge", "run", "--no-mqtt"], "notaurl"),
        (["credential", "keygen", "--out", "issuer.json"], "notaurl"),
    ],
)
def test_an_rpc_url_that_is_not_one_is_refused_in_one_line(command, url, tmp_path):
    result = run_cli(*command, env={"PROVENANCE_RPC_URL": url}, cwd=tmp_path)
    assert_one_error_line(result, f"error: PROVENANCE_RPC_URL {url!r} is not an http(s) URL")


def corrupt_sqlite(directory: Path) -> str:
    path = directory / "corrupt.db"
    path.write_bytes(b"not a database at all" * 200)
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("command", "variable", "url", "line"),
    [
        (["index", "rebuild"], "PROVENANCE_DATABASE_URL", "{corrupt}",
         "error: the database failed: file is not a database (DatabaseError)"),
        (["index", "run"], "PROVENANCE_DATABASE_URL", "{corrupt}",
         "error: the database failed: file is not a database (DatabaseError)"),
        (["index", "rebuild"], "PROVENANCE_DATABASE_URL", "postgresql://nobody@127.0.0.1:{port}/x",
         "error: the database failed: connection failed:"),
        (["index", "rebuild"], "PROVENANCE_DATABASE_URL", "not a url",
         "error: the database URL is not usable (Could not parse"),
        (["credential", "list"], "PROVENANCE_CREDENTIAL_DATABASE_URL", "{corrupt}",
         "error: the database failed: file is not a database (DatabaseError)"),
        (["bridge", "run", "--no-mqtt", "--http-port", "{port}"], "PROVENANCE_BRIDGE_DATABASE_URL",
         "{corrupt}", "error: the database failed: file is not a database (DatabaseError)"),
    ],
    ids=["rebuild corrupt", "run corrupt", "rebuild unreachable", "rebuild bad url",
         "credential list corrupt", "bridge run corrupt"],
)  # fmt: skip
def test_a_corrupt_or_unreachable_database_is_one_line(
    command, variable, url, line, consortium, anvil, tmp_path
):
    consortium.deployment.save(tmp_path / ".provenance" / "deployment.json")
    values = {"corrupt": corrupt_sqlite(tmp_path), "port": str(free_port())}
    env = {"PROVENANCE_RPC_URL": anvil.rpc_url, variable: url.format(**values)}
    result = run_cli(*(part.format(**values) for part in command), env=env, cwd=tmp_path)
    assert_one_error_line(result, line)


@pytest.mark.parametrize(
    ("record", "line"),
    [
        ({"addresses": 5}, "addresses is int, not an object"),
        ({"deploy_block": "abc"}, "deploy_block is 'abc', not a non-negative integer"),
        ({"addresses": {"ProvenanceLedger": "0xzz"}}, "the address of ProvenanceLedger is '0xzz'"),
    ],
)
def test_a_malformed_deployment_record_is_one_line(record, line, consortium, anvil, tmp_path):
    path = tmp_path / ".provenance" / "deployment.json"
    consortium.deployment.save(path)
    path.write_text(json.dumps({**json.loads(path.read_text()), **record}))
    result = run_cli("index", "run", env={"PROVENANCE_RPC_URL": anvil.rpc_url}, cwd=tmp_path)
    assert_one_error_line(result, f"error: the deployment record {path.relative_to(tmp_path)}")
    assert line in result.stderr


@pytest.mark.parametrize(
    ("command", "env", "line"),
    [
        (["deploy"], {"PROVENANCE_PRIVATE_KEY": "0x12"}, "error: PROVENANCE_PRIVATE_KEY: "),
        (["index", "run"], {"PROVENANCE_CONFIRMATIONS": "-1"}, "error: PROVENANCE_CONFIRMATIONS: "),
        (["device", "simulate", "--lot", "0x" + "ab" * 32, "--count", "0"], {},
         "error: Invalid value for '--count': "),
        (["device", "simulate", "--lot", "0x" + "ab" * 32, "--event-temp", "nan",
          "--chain-id", "1", "--contract", "0x" + "22" * 20],
         {"PROVENANCE_DEVICE_KEY": "0x" + "11" * 32},
         "error: --event-temp must be a finite number of °C, got nan"),
        (["bridge", "run", "--http-port", "99999"], {}, "error: Invalid value for '--http-port': "),
        (["index", "run", "--no-such-option"], {}, "error: No such option: --no-such-option"),
        (["no-such-command"], {}, "error: No such command 'no-such-command'"),
        (["credential", "keygen", "--out", "a-file/issuer.json", "--chain-id", "1"],
         {"PROVENANCE_KEYSTORE_PASSPHRASE": "a long enough passphrase"},
         "error: cannot use a-file: "),
    ],
    ids=["bad key setting", "bad number setting", "count 0", "nan temperature", "port",
         "unknown option", "unknown command", "unwritable keystore path"],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_1(command, env, line, tmp_path):
    (tmp_path / "a-file").write_text("in the way")
    result = run_cli(*command, env=env, cwd=tmp_path)
    assert_one_error_line(result, line)


ISO_UTC_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ [\w.]+: ")


def _bridge_log(anvil, tmp_path: Path, log_format: str) -> str:
    """What `bridge run` logs on stderr from its start through one /healthz request to its stop."""
    port = free_port()
    bridge = subprocess.Popen(
        [str(PROVENANCE), "bridge", "run", "--no-mqtt", "--http-port", str(port)],
        env={
            **os.environ,
            "PROVENANCE_RPC_URL": anvil.rpc_url,
            "PROVENANCE_LOG_FORMAT": log_format,
        },
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "the bridge did not start"
            assert bridge.poll() is None, bridge.communicate()[1]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
    finally:
        bridge.send_signal(signal.SIGTERM)
        _, stderr = bridge.communicate(timeout=30)

    return stderr


def test_bridge_log_lines_start_with_an_iso_utc_time(consortium, anvil, tmp_path):
    consortium.deployment.save(tmp_path / ".provenance" / "deployment.json")
    stderr = _bridge_log(anvil, tmp_path, "plain")
    lines = stderr.splitlines()
    assert any("GET /healthz" in line for line in lines), stderr
    assert all(ISO_UTC_LOG_LINE.match(line) for line in lines), stderr


def test_bridge_logs_json_lines_when_asked(consortium, anvil, tmp_path):
    consortium.deployment.save(tmp_path / ".provenance" / "deployment.json")
    records = [json.loads(line) for line in _bridge_log(anvil, tmp_path, "json").splitlines()]
    assert any("GET /healthz" in record["message"] for record in records), records
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"]), record
