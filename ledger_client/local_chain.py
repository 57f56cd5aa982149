"""Start and stop a local anvil from `node_modules` (the embedded default chain)."""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from ledger_client.artifacts import NODE_MODULES
from ledger_client.errors import ToolchainError

_PR_SET_PDEATHSIG = 1
ANVIL_BINARY = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _terminate_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux `PR_SET_PDEATHSIG`)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class LocalChain:
    """A running anvil; `stop()` ends it (and dumps its state when asked to) and removes
    its cache directory."""

    port: int
    process: subprocess.Popen
    log_path: Path | None = field(default=None)
    cache_dir: Path | None = field(default=None)

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.cache_dir is not None:
            shutil.rmtree(self.cache_dir, ignore_errors=True)


def start_anvil(
    *,
    port: int | None = None,
    block_time: float | None = None,
    dump_state: Path | None = None,
    load_state: Path | None = None,
    extra_args: tuple[str, ...] = (),
    log_path: Path | None = None,
    startup_timeout_s: float = 20.0,
    tied_to_owner: bool = False,
) -> LocalChain:
    """Start anvil and wait until it answers JSON-RPC. `tied_to_owner`: in a session of its
    own, so a terminal's Ctrl-C reaches its owner only, which stops it in its order (after
    whatever still sends to it) and its dumped state holds their work; and sent SIGTERM
    (it then dumps its state) should the owner die without stopping it."""
    if not ANVIL_BINARY.exists():
        raise ToolchainError(
            f"anvil not found at {ANVIL_BINARY}: run `make install` (or `npm install`)"
        )
    port = port or free_port()
    args = [str(ANVIL_BINARY), "--port", str(port), "--host", "127.0.0.1", "--silent"]
    # Large batches of events: let a block hold several maximal transactions.
    args += ["--gas-limit", "300000000"]
    # Past states beyond the ~500 kept in memory are dropped, not written to disk: anvil
    # otherwise writes every older block's state under ~/.foundry/anvil/tmp (12+ GB in one
    # run of the suite) and leaves it there when stopped. Its cache directory is ours and
    # goes with it.
    cache_dir = Path(tempfile.mkdtemp(prefix="provenance-anvil-"))
    args += ["--max-persisted-states", "0", "--cache-path", str(cache_dir)]
    if block_time:
        args += ["--block-time", str(block_time)]
    if dump_state:
        args += ["--dump-state", str(dump_state)]
    if load_state:
        args += ["--load-state", str(load_state)]
    args += list(extra_args)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=tied_to_owner,
        preexec_fn=_terminate_with_parent if tied_to_owner else None,
    )
    chain = LocalChain(port=port, process=process, log_path=log_path, cache_dir=cache_dir)
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            chain.stop()  # its cache directory
            raise ToolchainError(f"anvil exited at start with code {process.returncode}")
        try:
            answer = requests.post(
                chain.rpc_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                timeout=1,
            )
            if answer.ok:
                return chain
        except requests.RequestException:
            time.sleep(0.05)
    chain.stop()
    raise ToolchainError(f"anvil did not answer on port {port} within {startup_timeout_s:.0f}s")


@contextmanager
def running_anvil(**kwargs) -> Iterator[LocalChain]:
    """`start_anvil` as a context manager that always stops it."""
    chain = start_anvil(**kwargs)
    try:
        yield chain
    finally:
        chain.stop()
