"""The exact crashes of issue 12: input nested ~100,000 deep killed the bridge and the CLI
(SIGSEGV, exit 139). Each is now refused with a clear error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from oracle_bridge.errors import MalformedBatch
from oracle_bridge.sources.batch import split_json_array
from tests.factories import REPO_ROOT
from tests.oracle_bridge.ingress.ingress_fakes import DOMAIN, FakeIngestor

pytestmark = pytest.mark.unit

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000


def test_split_json_array_refuses_an_array_nested_100_000_deep():
    with pytest.raises(MalformedBatch, match="nest deeper than 64 levels"):
        split_json_array(DEEP_ARRAY)


def test_post_readings_answers_4xx_to_an_array_nested_100_000_deep():
    ingestor = FakeIngestor(domain=DOMAIN)
    client = TestClient(create_app(ingestor))

    response = client.post("/api/v1/readings", content=DEEP_ARRAY)

    assert response.status_code == 400
    assert "nest deeper than 64 levels" in response.json()["detail"]
    assert ingestor.dead_letters == []


def test_credential_verify_refuses_a_file_nested_99_000_deep_in_one_line(tmp_path: Path):
    credential = tmp_path / "deep.json"
    credential.write_bytes(b"[" * 99_000 + b"]" * 99_000)

    done = subprocess.run(
        [REPO_ROOT / ".venv" / "bin" / "provenance", "credential", "verify", credential],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )

    assert done.returncode == 1, done.stderr  # a segfault shows as -11
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "nested deeper than 64 levels" in done.stderr
