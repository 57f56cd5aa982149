"""The `provenance` command run as a user runs it: a subprocess of this virtualenv's entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
