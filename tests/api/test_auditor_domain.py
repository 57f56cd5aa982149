"""The domain auditors sign presentations for must be configured off a local anvil: a
bridge on any other node refuses to start without it, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.config import ApiSettings
from ledger_client.errors import ConfigurationError
from ledger_client.local_chain import free_port
from oracle_bridge.config import BridgeSettings

pytestmark = pytest.mark.integration

PROVENANCE = Path(sys.executable).parent / "provenance"


def run_bridge(*, rpc_url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    settings = {
        "PROVENANCE_RPC_URL": rpc_url,
        # Not an anvil key: refused, it would hide what this test is about.
        "PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY": "0x" + "42" * 32,
        **env,
    }
    environment = {k: v for k, v in os.environ.items() if k != "PROVENANCE_API_DOMAIN"}
    return subprocess.run(
        [str(PROVENANCE), "bridge", "run", "--no-mqtt", "--http-port", str(free_port())],
        env=environment | settings,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bridge_off_anvil_without_an_api_domain_refuses_to_start(consortium, besu_node, tmp_path):
    consortium.deployment.save(tmp_path / ".provenance" / "deployment.json")
    result = run_bridge(rpc_url=besu_node, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: PROVENANCE_API_DOMAIN is not set: set it to the host name auditors reach"
        " this API at (e.g. audit.example.org); only a local anvil defaults to host:port"
    ], result.stderr
    assert "Traceback" not in result.stderr


def test_the_domain_defaults_to_the_bind_address_only_on_a_local_anvil():
    settings = ApiSettings(domain="")
    assert settings.auditor_domain(bind="127.0.0.1:8000", local_anvil=True) == "127.0.0.1:8000"
    with pytest.raises(ConfigurationError, match="PROVENANCE_API_DOMAIN is not set"):
        settings.auditor_domain(bind="127.0.0.1:8000", local_anvil=False)
    configured = ApiSettings(domain="audit.example.org")
    assert configured.auditor_domain(bind="0.0.0.0:8000", local_anvil=False) == "audit.example.org"


@pytest.mark.parametrize(
    "old",
    ["PROVENANCE_BRIDGE_API_DOMAIN", "PROVENANCE_BRIDGE_AUDITOR_SESSION_S"],
)
def test_a_moved_api_variable_is_refused_by_name(old, monkeypatch):
    monkeypatch.setenv(old, "audit.example.org")
    with pytest.raises(ValidationError, match=f"{old} is now PROVENANCE_API_"):
        ApiSettings()
    with pytest.raises(ValidationError, match=f"{old} is now PROVENANCE_API_"):
        BridgeSettings()
