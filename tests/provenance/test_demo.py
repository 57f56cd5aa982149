"""`provenance demo` runs the main job end to end and shows what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_end_to_end(tmp_path):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "provenance"), "demo"],
        env={**os.environ, "PROVENANCE_STATE_DIR": str(tmp_path), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "ProvenanceLedgerBatchQuarantined" in out
    assert "does not hold the role OPERATOR_ROLE" in out
    assert "prefix 9506000 assigned to Nordvax Biologics" in out
    assert "company prefix of GTIN 09506000134352" in out
    assert "a reading rewritten to 5 °C was dead-lettered" in out
    assert "VAX-2026-11B is QUARANTINED on chain by ColdChainCompliance" in out
    assert "proven against the chain alone" in out
    assert "matches the hash emitted" in out
    assert "quality lab holds ISSUER, trusted for CalibrationCertificate" in out
    assert "lot VAX-2026-11C commissioned as did:key:zQ3s" in out
    for kind in ("CalibrationCertificate → logger", "CertificateOfAnalysis →", "FitForUse →"):
        line = next(line for line in out.splitlines() if kind in line)
        assert ": valid (proof ✓ schema ✓ anchored ✓" in line, line
    assert "quarantined: FitForUse NOT valid — not_suspended ✗" in out
    assert "released: FitForUse valid again" in out
    assert "no ColdChainComplianceCredential for lot VAX-2026-11B" in out
    assert (tmp_path / "demo" / "read_model.db").exists()
