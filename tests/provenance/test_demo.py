"""`provenance demo` tells issue 17's story on the embedded node and checks every outcome:
run to its end with --no-serve in a fresh state directory, then again on the chain it saved
(a new run with lot numbers of its own) and serving, until SIGTERM stops it cleanly."""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path

import pytest

from ledger_client.keys import ANVIL_DEV_KEYS
from tests.factories import MQTT_HOST, MQTT_PORT, REQUIRE_SERVICES
from tests.provenance.cli_process import run_cli
from tests.provenance.demo_process import run_demo, serving_demo
from tests.provenance.test_serve import anvils_of

pytestmark = pytest.mark.integration

# Every outcome the self-check lists, as it prints them for run 1.
OUTCOMES = [
    "Nordvax Biologics (vaccine manufacturer) is a member with OPERATOR",
    "Polar Freight Logistics (logistics company) is a member with OPERATOR",
    "Kelvin Calibration Lab (calibration lab) is a member with ISSUER",
    "Meridian Quality Authority (quality authority) is a member with QUALITY, QUARANTINE, ISSUER",
    "Argus Audit (auditor) is a member with AUDITOR",
    'the rule of "vaccine, 2–8 °C" is on chain',
    "lot VAX-A-001: commissioned, packed and shipped through capture",
    "lot VAX-B-001: commissioned, packed and shipped through capture",
    "the uncalibrated logger's readings are refused",
    "lot VAX-B-001 is QUARANTINED on chain by ColdChainCompliance, no one calling",
    "lot VAX-B-001's FitForUse is suspended in the quarantine's transaction",
    "receiving quarantined lot VAX-B-001 is refused",
    "lot VAX-A-001 holds a valid ColdChainComplianceCredential",
    "lot VAX-B-001 cannot be certified",
    "lot VIAL-A-001 traces back to lot VAX-A-001",
    "Meridian Quality Authority acknowledged lot VAX-B-001's excursion with its comment",
    "lot VAX-B-001's events are queried and the first one's proof verifies",
    "lot VAX-B-001's trace shows its pallet",
    "the auditor finds its own queries in the access trail",
    "the scan page of lot VAX-A-001 says ACTIVE",
    "the scan page of lot VAX-B-001 says QUARANTINED",
]


def expected_transport() -> str:
    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=3):
            return "MQTT"
    except OSError:
        assert not REQUIRE_SERVICES, f"Mosquitto unreachable at {MQTT_HOST}:{MQTT_PORT}"
        return "HTTP"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo") / "state"


@pytest.fixture(scope="module")
def first_run(state_dir):
    return run_demo(state_dir)


def test_the_story_runs_to_its_end_and_every_outcome_holds(first_run, state_dir):
    out = first_run.stdout
    assert first_run.returncode == 0, out + first_run.stderr
    assert "Run 1 of the story on this chain: lots VAX-A-001, VAX-B-001 and VIAL-A-001" in out
    checked = [line for line in out.splitlines() if line.startswith("│ ")]
    for outcome in OUTCOMES:
        line = next((line for line in checked if outcome in line), None)
        assert line is not None and line.startswith("│ ✓"), f"{outcome}: {line}"
    assert not [line for line in checked if "✗" in line]
    assert f"self-check passed: all {len(OUTCOMES)} outcomes of the story held" in out
    # What the story tells on the way, as a newcomer reads it.
    # Over MQTT when the broker answers (always under PROVENANCE_REQUIRE_SERVICES=1).
    assert f"6. The loggers stream signed readings over {expected_transport()}" in out
    assert "logger 3 (uncalibrated): 5 readings refused by the bridge — no valid calibration" in out
    assert re.search(r"its FitForUse: VALID in block (\d+), SUSPENDED in block \d+", out)
    assert "nobody called quarantine" in out
    assert "ColdChainCompliance contract (cold-chain: excursion too long)" in out
    assert re.search(
        r"MKT \d\.\d\d °C, min 4\.\d °C, max 5\.\d °C, 0 s out of range, 60 readings", out
    )
    assert "receiving lot VAX-B-001 refused" in out and "ProvenanceLedgerBatchQuarantined" in out
    assert "aggregation into pallet SSCC 095060000000000015" in out
    assert "verified=True" in out
    # The ending: the summary, the scan URLs, a QR code, the tokens.
    for lot, status in (
        ("VAX-A-001", "ACTIVE"),
        ("VAX-B-001", "QUARANTINED"),
        ("VIAL-A-001", "ACTIVE"),
    ):
        assert re.search(rf"│ {lot} +│ {status} +│", out), lot
    assert re.search(r"/01/09506000134352/10/VAX-B-001\n", out)
    assert "QR code of lot VAX-A-001:\n█████" in out
    assert f"API tokens (operator, quality, auditor): {state_dir / 'dev-tokens.json'}" in out
    assert (state_dir / "dev-tokens.json").exists() and (state_dir / "chain-state.json").exists()
    assert anvils_of(state_dir) == []


def test_a_second_demo_tells_the_story_again_on_the_saved_chain_and_serves(first_run, state_dir):
    assert first_run.returncode == 0, first_run.stdout
    with serving_demo(state_dir) as demo:
        assert "Run 2 of the story on this chain: lots VAX-A-002, VAX-B-002" in demo.output
        assert "self-check passed" in demo.output
        with urllib.request.urlopen(f"{demo.url}/01/09506000134352/10/VAX-B-002") as page:
            html = page.read().decode()
        assert page.url.endswith("/scan/01/09506000134352/10/VAX-B-002")
        assert "Status: QUARANTINED" in html
        # The first run's lots are still on the chain it resumed.
        with urllib.request.urlopen(f"{demo.url}/01/09506000134352/10/VAX-B-001") as page:
            assert "Status: QUARANTINED" in page.read().decode()
    assert "node stopped" in demo.output
    assert anvils_of(state_dir) == []


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        ([], {"PROVENANCE_RPC_URL": "http://127.0.0.1:8545"},
         "error: the demo runs on the embedded dev chain only: unset PROVENANCE_RPC_URL"),
        ([], {"PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[7]},
         "error: PROVENANCE_PRIVATE_KEY is set but PROVENANCE_RPC_URL is not"),
        (["--port", "0"], {}, "error: Invalid value for '--port': "),
        (["--port", "{taken}"], {}, "error: cannot listen on 127.0.0.1:{taken} "),
    ],
    ids=["a configured network", "another organization's key", "port 0", "a port in use"],
)  # fmt: skip
def test_a_demo_that_cannot_run_says_why_in_one_line_and_starts_nothing(args, env, line, tmp_path):
    state_dir = tmp_path / "state"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_cli(
            "demo",
            "--no-serve",
            *[arg.format(taken=port) for arg in args],
            env={"PROVENANCE_STATE_DIR": str(state_dir), **env},
            cwd=tmp_path,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(line.format(taken=port)), result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stdout
    assert not state_dir.exists()
