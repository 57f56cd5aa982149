"""A member node run as an operator runs it (`provenance bridge run` in a subprocess) against
a test chain: its environment, a bearer token issued by the command line, and HTTP calls."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from ledger_client.local_chain import free_port
from provenance.cli import app
from tests.factories import Consortium

PROVENANCE = Path(sys.executable).parent / "provenance"
runner = CliRunner()


def node_environment(
    consortium: Consortium,
    *,
    rpc_url: str,
    state_dir: Path,
    organization: LocalAccount,
    trail_anchor_interval_s: str = "0",
) -> dict[str, str]:
    """The variables of a node writing as `organization`, its deployment record saved in
    `state_dir`."""
    consortium.deployment.save(state_dir / "deployment.json")
    return {
        "PROVENANCE_RPC_URL": rpc_url,
        "PROVENANCE_STATE_DIR": str(state_dir),
        "PROVENANCE_PRIVATE_KEY": "0x" + bytes(organization.key).hex(),
        "PROVENANCE_API_TRAIL_ANCHOR_INTERVAL_S": trail_anchor_interval_s,
    }


def issue_token(env: dict[str, str], *, organization: str, role: str) -> str:
    """A bearer token issued by `provenance token issue` (its last line of output)."""
    issued = runner.invoke(app, ["token", "issue", "--org", organization, "--role", role], env=env)
    assert issued.exit_code == 0, issued.output
    return issued.stdout.strip().splitlines()[-1]


@dataclass
class RunningNode:
    url: str
    process: subprocess.Popen[str]

    def call(
        self, path: str, token: str | None = None, body: dict | None = None
    ) -> tuple[int, Any]:
        """(status, JSON body) of a GET, or of a POST when `body` is given."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def serving(self) -> bool:
        assert self.process.poll() is None, self.process.communicate()[1]
        try:
            return self.call("/healthz")[0] == 200
        except OSError:
            return False


def wait_for(condition, what: str, timeout_s: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@contextmanager
def bridge_run(env: dict[str, str], *, cwd: Path) -> Iterator[RunningNode]:
    """A `provenance bridge run` node (HTTP only) serving; stopped with SIGTERM after, which
    must end it cleanly."""
    port = free_port()
    process = subprocess.Popen(
        [str(PROVENANCE), "bridge", "run", "--http-port", str(port), "--no-mqtt"],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    node = RunningNode(f"http://127.0.0.1:{port}", process)
    try:
        wait_for(node.serving, "the node's HTTP API")
        yield node
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


class ClosingListener:
    """A listener on 127.0.0.1:`port` (0: a free one) that accepts every connection and
    closes it at once: a port that is taken but answers nothing.

    Raises:
        OSError: the port is taken already.
    """

    def __init__(self, port: int = 0) -> None:
        self._server = socket.socket()
        # A port left in TIME_WAIT by an earlier process is free to take.
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._server.bind(("127.0.0.1", port))
        except OSError:
            self._server.close()
            raise
        self._server.listen()
        self._thread = threading.Thread(target=self._refuse, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def _refuse(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            connection.close()

    def close(self) -> None:
        self._server.close()
        self._thread.join(5)
