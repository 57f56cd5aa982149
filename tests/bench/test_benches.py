"""Each benchmark runs as a user runs it (`bench/X.py --quick`) and ends with its JSON line.

The figures themselves are not judged here (the machines are shared and noisy); what is
judged is that every benchmark still runs against today's contracts and code, and that its
line names the bench and beats its naive baseline.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize(
    "name", ["anchor_events", "api", "credentials", "log_decoding", "readings", "scan", "trace"]
)
def test_the_benchmark_runs_and_ends_with_its_figures(name, tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--quick"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["bench"] == name
    assert figures["ratio"] > 1, figures
