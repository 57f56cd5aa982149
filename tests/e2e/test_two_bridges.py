"""Two bridge instances share the devices' readings through one MQTT shared subscription and
one PostgreSQL database: each reading is taken by exactly one of them, stored once, and
anchored once. Both close windows; the one holding the submitter lease anchors and submits."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import func, select

from ledger_client.deployment import Deployment
from ledger_client.local_chain import free_port
from ledger_client.roles import Role
from oracle_bridge.ingest import IngestResult
from oracle_bridge.readings import SignedReading
from oracle_bridge.sources import reading_topic
from oracle_bridge.store import DeadLetter, InboxReading, reading_session
from tests.e2e.e2e_factories import (
    anchored_windows,
    bridge_progress,
    coverage_problems,
    readings_of,
    save_deployment,
    steady_readings,
    wait_for,
)
from tests.factories import ANVIL_KEYS
from tests.oracle_bridge.runtime.bridge_runtime_factories import dead_letters, payload

pytestmark = [pytest.mark.e2e, pytest.mark.services]

DEVICES, READINGS_PER_DEVICE = 4, 150


@dataclass
class Shared:
    """What two instances made of the readings they shared."""

    readings: list[SignedReading]
    results: tuple[list[IngestResult], list[IngestResult]]
    stored: list[tuple[str, int, int]]  # (device, seq, rows)
    dead_letters: list[DeadLetter]
    deployment: Deployment


@pytest.fixture
def shared(cold_chain, bridges, anvil, publisher) -> Shared:
    """Devices report independently (each in order, interleaved at random) to two instances;
    waits until every reading was judged and everything stored reached the chain."""
    c = cold_chain.consortium
    lot = cold_chain.lot()
    devices = [cold_chain.device(lot) for _ in range(DEVICES)]
    database_url = bridges.database_url("postgresql")
    # Each instance sends from an ORACLE account of its own (DESIGN §9); they take turns.
    second_oracle = Account.from_key(ANVIL_KEYS[5])
    c.membership().grant_role(Role.ORACLE, second_oracle.address)
    first = bridges.start(c.deployment, rpc_url=anvil.rpc_url, database_url=database_url)
    second = bridges.start(
        c.deployment,
        rpc_url=anvil.rpc_url,
        database_url=database_url,
        oracle_private_key="0x" + second_oracle.key.hex().removeprefix("0x"),
    )
    start_time = int(time.time()) - 60 * READINGS_PER_DEVICE
    streams = [
        iter(
            steady_readings(
                d, lot, cold_chain.domain, count=READINGS_PER_DEVICE, start_time=start_time
            )
        )
        for d in devices
    ]
    turns = [index for index in range(DEVICES) for _ in range(READINGS_PER_DEVICE)]
    random.Random(3).shuffle(turns)
    readings = [next(streams[index]) for index in turns]

    for signed in readings:
        topic = reading_topic(bridges.topic_prefix, signed.reading.device)
        publisher.publish(topic, payload(signed))

    engine = first.bridge.engine
    wait_for(
        lambda: first.ingestor.count() + second.ingestor.count() >= len(readings),
        lambda: f"both instances to judge every reading: {bridge_progress(engine)}",
    )
    wait_for(
        lambda: (
            not any(
                count
                for name, count in bridge_progress(engine).items()
                if name in ("unwindowed", "unanchored_windows", "open_submissions")
            )
        ),
        lambda: f"the stored readings to reach the chain: {bridge_progress(engine)}",
    )
    with reading_session(engine) as session:
        stored = session.execute(
            select(InboxReading.device, InboxReading.seq, func.count()).group_by(
                InboxReading.device, InboxReading.seq
            )
        ).all()
    return Shared(
        readings,
        (first.ingestor.results, second.ingestor.results),
        [tuple(row) for row in stored],
        dead_letters(engine),
        c.deployment,
    )


def test_each_reading_is_judged_by_one_instance_stored_once_and_anchored_once(shared, cold_chain):
    first, second = shared.results
    judged = Counter((r.device, r.seq) for r in first + second)
    assert set(judged) == {(s.reading.device, s.reading.seq) for s in shared.readings}
    assert set(judged.values()) == {1}, "a message reached both instances, or one twice"
    assert first and second, "the shared subscription gave one instance everything"
    assert "duplicate" not in {r.status for r in first + second}
    accepted = {(r.device, r.seq) for r in first + second if r.status == "accepted"}
    assert {(device, seq) for device, seq, _ in shared.stored} == accepted
    assert {rows for _, _, rows in shared.stored} == {1}
    assert [letter for letter in shared.dead_letters if letter.reason_code == "replayed_seq"] == []
    c = cold_chain.consortium
    stored = readings_of(
        s for s in shared.readings if (s.reading.device, s.reading.seq) in accepted
    )
    assert coverage_problems(anchored_windows(c.w3, shared.deployment), stored) == []


def test_no_reading_is_lost_when_a_device_s_readings_are_split_across_instances(shared, cold_chain):
    """The instances may store a device's consecutive readings out of order; the later one
    to arrive is still accepted (nothing is windowed above it yet), so every reading the
    devices published is stored and anchored, and nothing is dead-lettered."""
    first, second = shared.results
    assert {r.status for r in first + second} == {"accepted"}
    assert shared.dead_letters == []
    published = {(s.reading.device, s.reading.seq) for s in shared.readings}
    assert {(device, seq) for device, seq, _ in shared.stored} == published
    c = cold_chain.consortium
    stored = readings_of(shared.readings)
    assert coverage_problems(anchored_windows(c.w3, shared.deployment), stored) == []


def test_a_second_process_with_the_same_identity_is_refused_at_start(cold_chain, anvil, tmp_path):
    """Default settings on one host give two processes one instance name: the second `provenance
    bridge run` is refused with a one-line error naming the setting, the first keeps sending."""
    c = cold_chain.consortium
    env = {
        **os.environ,
        "PROVENANCE_RPC_URL": anvil.rpc_url,
        "PROVENANCE_STATE_DIR": str(save_deployment(c.deployment, tmp_path / "state")),
        "PROVENANCE_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
    }
    env.pop("PROVENANCE_BRIDGE_INSTANCE_NAME", None)
    command = [str(Path(sys.executable).with_name("provenance")), "bridge", "run", "--no-mqtt"]
    first = subprocess.Popen(
        [*command, "--http-port", str(free_port())],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert first.stdout is not None
        for line in first.stdout:
            if line.startswith("bridge running"):
                break
        else:
            raise AssertionError("the first bridge did not start")
        second = subprocess.run(
            [*command, "--http-port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1, second.stdout + second.stderr
        assert "another bridge process runs as instance" in second.stderr
        assert "PROVENANCE_BRIDGE_INSTANCE_NAME" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None, "the first bridge stopped"
    finally:
        first.send_signal(signal.SIGTERM)
        try:
            first.wait(timeout=45)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait()
