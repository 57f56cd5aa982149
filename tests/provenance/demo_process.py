"""`provenance demo` as a newcomer runs it: a subprocess of this virtualenv's entry point in a
state directory of its own, its output read as it comes."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ledger_client.local_chain import free_port
from tests.provenance.cli_process import PROVENANCE

# The story takes ~30 s on this machine; a shared, busy one may take several times that.
STORY_TIMEOUT_S = 300
SERVING = "keeps serving on"


def demo_environment(state_dir: Path) -> dict[str, str]:
    """The process environment of a demo in `state_dir`, wide enough for whole lines."""
    env = {**os.environ, "PROVENANCE_STATE_DIR": str(state_dir), "COLUMNS": "200"}
    for variable in ("PROVENANCE_RPC_URL", "PROVENANCE_PRIVATE_KEY"):
        env.pop(variable, None)
    return env


def run_demo(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`provenance demo --no-serve` on a free port, run to its end."""
    return subprocess.run(
        [str(PROVENANCE), "demo", "--no-serve", "--port", str(free_port()), *args],
        env=demo_environment(state_dir),
        cwd=state_dir.parent,
        capture_output=True,
        text=True,
        timeout=STORY_TIMEOUT_S,
    )


@dataclass
class ServingDemo:
    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)


def _read_lines(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


@contextmanager
def serving_demo(state_dir: Path) -> Iterator[ServingDemo]:
    """`provenance demo` on a free port, yielded once its story is told and it says it keeps
    serving; stopped with SIGTERM after, which must end it with status 0."""
    port = free_port()
    process = subprocess.Popen(
        [str(PROVENANCE), "demo", "--port", str(port)],
        env=demo_environment(state_dir),
        cwd=state_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    demo = ServingDemo(f"http://127.0.0.1:{port}", process)
    reader = threading.Thread(target=_read_lines, args=(process, demo.lines), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + STORY_TIMEOUT_S
        while SERVING not in demo.output:
            assert process.poll() is None, f"the demo ended early:\n{demo.output}"
            assert time.monotonic() < deadline, f"the demo never served:\n{demo.output}"
            time.sleep(0.2)
        yield demo
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        reader.join(timeout=10)
    assert process.returncode == 0, demo.output
