"""A simulated device streams a lot's readings through Mosquitto into a running bridge: the
lot is quarantined on chain when, and only when, its cold-chain rule breaks."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ledger_client.lifecycle import BatchStatus
from oracle_bridge.rules import Decision
from provenance.cli import app
from tests.e2e.e2e_factories import (
    anchored_windows,
    bridge_progress,
    coverage_problems,
    drained,
    wait_for,
)
from tests.oracle_bridge.runtime.bridge_runtime_factories import RULE

pytestmark = [pytest.mark.e2e, pytest.mark.services]

# The simulator's readings are 60 s apart: 3 in range, then the event, then 1 in range.
# RULE allows 2-8 °C, excursions of 600 s, hard limits -5/25 °C, data gaps of 3600 s.
assert (RULE.allowed_excursion_seconds, RULE.max_data_gap_seconds) == (600, 3600)


@pytest.mark.parametrize(
    ("profile", "event", "quarantine"),
    [
        pytest.param(
            "excursion",
            ["--event-temp", "12", "--event-seconds", "660"],
            # out of range from seq 4; seq 15 is 660 s into the excursion
            (15, Decision.QUARANTINE_EXCURSION, "cold-chain: excursion too long"),
            id="excursion of 660 s quarantines",
        ),
        pytest.param(
            "excursion",
            ["--event-temp", "12", "--event-seconds", "540"],
            None,
            id="excursion of 540 s does not",
        ),
        pytest.param(
            "hard-limit",
            ["--event-temp", "30"],
            (4, Decision.QUARANTINE_HARD_LIMIT, "cold-chain: hard limit"),
            id="one reading past the hard limit quarantines",
        ),
        pytest.param(
            "gap",
            ["--event-seconds", "3700"],
            (4, Decision.QUARANTINE_DATA_GAP, "cold-chain: data gap"),
            id="a data gap of 3700 s quarantines",
        ),
    ],
)
def test_a_simulated_device_over_mqtt_quarantines_its_lot_only_when_the_rule_breaks(
    cold_chain, bridges, anvil, profile, event, quarantine
):
    c = cold_chain.consortium
    lot = cold_chain.lot(RULE)
    device = cold_chain.device(lot)
    start_block = c.w3.eth.block_number
    running = bridges.start(c.deployment, rpc_url=anvil.rpc_url)

    simulated = CliRunner().invoke(
        app,
        [
            "device", "simulate",
            "--lot", "0x" + lot.hex(), "--profile", profile, "--count", "3", *event,
            "--transport", "mqtt", "--host", bridges.broker.host,
            "--port", str(bridges.broker.port), "--topic-prefix", bridges.topic_prefix,
            "--chain-id", str(c.deployment.chain_id),
            "--contract", cold_chain.domain.verifying_contract,
        ],
        env={"PROVENANCE_DEVICE_KEY": "0x" + device.private_key.hex()},
    )  # fmt: skip

    assert simulated.exit_code == 0, simulated.output
    sent = int(re.search(r"(\d+) readings of", simulated.stdout)[1])  # type: ignore[index]
    assert f"{sent} published" in simulated.stdout
    wait_for(lambda: drained(running.bridge.engine, sent), "the readings to reach the chain")
    assert (
        coverage_problems(
            anchored_windows(c.w3, c.deployment), {(lot, device.address): set(range(1, sent + 1))}
        )
        == []
    )
    progress = bridge_progress(running.bridge.engine)
    assert (progress["dead_letters"], progress["failed_submissions"]) == (0, 0)

    quarantines = cold_chain.compliance.events.ExcursionQuarantine.get_logs(
        from_block=start_block, argument_filters={"batchId": lot}
    )
    ledger = c.deployment.contract(c.w3, "ProvenanceLedger")
    status_changes = ledger.events.BatchStatusChanged.get_logs(
        from_block=start_block, argument_filters={"batchId": lot}
    )
    status = c.writer().batch(lot).status
    if quarantine is None:
        assert status is BatchStatus.ACTIVE
        assert (quarantines, status_changes) == ([], [])
        last_seq, _, in_excursion, _ = cold_chain.compliance.functions.complianceState(
            lot, device.address
        ).call()
        assert (last_seq, in_excursion) == (sent, False)  # the in-range reading ended it
        return
    seq, decision, reason = quarantine
    assert status is BatchStatus.QUARANTINED
    assert [(q.args.device, q.args.seq, q.args.reason) for q in quarantines] == [
        (device.address, seq, decision)
    ]
    assert [(s.args["to"], s.args.by, s.args.reason) for s in status_changes] == [
        (BatchStatus.QUARANTINED, cold_chain.domain.verifying_contract, reason)
    ]
