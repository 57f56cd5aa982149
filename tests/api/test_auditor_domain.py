"""The domain auditors sign presentations for must be configured off a local anvil: a
bridge on any other node refuses to start without it, in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ledger_client.errors import ConfigurationError
from ledger_client.local_chain import free_port
from oracle_bridge.config import BridgeSettings

pytestmark = pytest.mark.integration

PROVENANCE = Path(sys.executable).parent / "provenance"
BESU = "besu/v24.12.2/linux-x86_64/openjdk-java-21"


@pytest.fixture
def besu_node(anvil) -> Iterator[str]:
    """The URL of a node that says it is Besu: anvil behind a proxy that answers
    `web3_clientVersion` itself."""

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls = payload if isinstance(payload, list) else [payload]
            request = urllib.request.Request(
                anvil.rpc_url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                answers = json.loads(answer.read())
            for call, result in zip(
                calls, answers if isinstance(answers, list) else [answers], strict=True
            ):
                if call["method"] == "web3_clientVersion":
                    result["result"] = BESU
            body = json.dumps(answers).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_bridge(*, rpc_url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    settings = {
        "PROVENANCE_RPC_URL": rpc_url,
        # Not an anvil key: refused, it would hide what this test is about.
        "PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY": "0x" + "42" * 32,
        **env,
    }
    environment = {k: v for k, v in os.environ.items() if k != "PROVENANCE_BRIDGE_API_DOMAIN"}
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
        "error: PROVENANCE_BRIDGE_API_DOMAIN is not set: set it to the host name auditors reach"
        " this API at (e.g. audit.example.org); only a local anvil defaults to host:port"
    ], result.stderr
    assert "Traceback" not in result.stderr


def test_the_domain_defaults_to_the_bind_address_only_on_a_local_anvil():
    settings = BridgeSettings(api_domain="")
    assert settings.auditor_domain(bind="127.0.0.1:8000", local_anvil=True) == "127.0.0.1:8000"
    with pytest.raises(ConfigurationError, match="PROVENANCE_BRIDGE_API_DOMAIN is not set"):
        settings.auditor_domain(bind="127.0.0.1:8000", local_anvil=False)
    configured = BridgeSettings(api_domain="audit.example.org")
    assert configured.auditor_domain(bind="0.0.0.0:8000", local_anvil=False) == "audit.example.org"
