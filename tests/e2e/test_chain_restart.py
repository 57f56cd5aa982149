"""The chain goes down mid-stream and comes back from its saved state: the bridge keeps
taking readings into its inbox, backs off, and catches up with nothing lost. Or it comes back
from an older state, without blocks the bridge anchored in: the bridge notices, reports
itself degraded, anchors and submits again what the chain lost, and no record claims an
anchoring the chain does not hold."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger_client.chain import connect, rpc
from ledger_client.lifecycle import BatchStatus
from ledger_client.local_chain import LocalChain, free_port, start_anvil
from oracle_bridge.readings import SignedReading
from oracle_bridge.rules import Decision
from oracle_bridge.sources import reading_topic
from oracle_bridge.sources.mqtt import MqttPublisher
from oracle_bridge.store import (
    ComplianceSubmission,
    ReadingWindow,
    SubmissionStatus,
    WindowStatus,
    reading_session,
)
from oracle_bridge.submitter import CHAIN_ROLLBACK
from tests.e2e.e2e_factories import (
    anchored_windows,
    bridge_progress,
    coverage_problems,
    drained,
    readings_of,
    steady_readings,
    wait_for,
)
from tests.factories import make_consortium
from tests.oracle_bridge.runtime.bridge_runtime_factories import ORACLE, ColdChain, payload

pytestmark = [pytest.mark.e2e, pytest.mark.services]


def windows(engine, status: WindowStatus) -> list[ReadingWindow]:
    with reading_session(engine) as session:
        return list(session.scalars(select(ReadingWindow).where(ReadingWindow.status == status)))


BLOCK_TIME_S = 1  # as on the production QBFT network: sent transactions wait in the pool


class RestartableChain:
    """An anvil on a fixed port that saves its state when stopped and resumes from it."""

    def __init__(self, state: Path) -> None:
        self._state = state
        self.port = free_port()
        self.chain: LocalChain | None = start_anvil(port=self.port, dump_state=state)

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.chain is not None:
            self.chain.stop()
            self.chain = None

    def restart(self, *, load_state: Path | None = None) -> None:
        """Resume from the state saved at the last stop, or from `load_state` (an older one)."""
        assert self.chain is None
        self.chain = start_anvil(
            port=self.port,
            dump_state=self._state,
            load_state=load_state or self._state,
            block_time=BLOCK_TIME_S,
        )

    def save_state(self, to: Path) -> None:
        """Keep the state saved at the last stop (to come back to later)."""
        assert self.chain is None
        shutil.copyfile(self._state, to)


@pytest.fixture
def chain(compiled: None, tmp_path: Path) -> Iterator[RestartableChain]:
    chain = RestartableChain(tmp_path / "anvil-state.json")
    try:
        yield chain
    finally:
        chain.stop()


def test_the_bridge_rides_out_a_chain_restart_and_loses_nothing(chain, bridges, broker, caplog):
    caplog.set_level(logging.WARNING, logger="oracle_bridge.bridge")
    w3 = connect(chain.rpc_url)
    # Set up on instant blocks, then run on 1 s blocks from here on.
    cold_chain = ColdChain(make_consortium(w3), ORACLE)
    lot = cold_chain.lot()
    devices = [cold_chain.device(lot) for _ in range(3)]
    rpc(w3, "evm_setIntervalMining", [BLOCK_TIME_S])
    deployment = cold_chain.consortium.deployment
    running = bridges.start(deployment, rpc_url=chain.rpc_url)
    engine = running.bridge.engine
    start_time = int(time.time()) - 60 * 200
    streams = [
        steady_readings(device, lot, cold_chain.domain, count=200, start_time=start_time)
        for device in devices
    ]
    readings = [reading for batch in zip(*streams, strict=True) for reading in batch]
    first, down, after = readings[:200], readings[200:400], readings[400:]

    with MqttPublisher(host=broker.host, port=broker.port) as publisher:

        def publish(batch: list[SignedReading]) -> None:
            for signed in batch:
                topic = reading_topic(bridges.topic_prefix, signed.reading.device)
                publisher.publish(topic, payload(signed))

        publish(first)
        # Stop while an anchoring waits in the pool for its block: the restart drops it.
        wait_for(lambda: windows(engine, WindowStatus.SENT), "an anchoring sent")
        chain.stop()
        publish(down)
        wait_for(lambda: bridge_progress(engine)["inbox"] == 400, "ingest while the chain is down")
        time.sleep(1)  # windows close, the submitter fails and backs off
        assert not running.bridge.chain_reachable()
        assert windows(engine, WindowStatus.PENDING)  # closed, waiting for the chain
        chain.restart()
        publish(after)
        wait_for(
            lambda: drained(engine, len(readings)),
            lambda: f"the bridge to catch up: {bridge_progress(engine)}",
            timeout_s=30,
        )

    assert coverage_problems(anchored_windows(w3, deployment), readings_of(readings)) == []
    progress = bridge_progress(engine)
    assert (progress["inbox"], progress["dead_letters"]) == (len(readings), 0)
    assert running.bridge.chain_reachable()
    retries = [
        r.args[-1]  # type: ignore[index]
        for r in caplog.records
        if r.getMessage().startswith("the chain did not answer")
    ]
    assert len(retries) >= 2 and retries[1] > retries[0], f"no backoff: {retries}"


def claims_not_on_chain(w3, engine) -> list[str]:
    """Records that claim a transaction the chain does not hold in the block they name."""
    with reading_session(engine) as session:
        records = [
            (f"window {w.id}", w.tx_hash, w.block_number)
            for w in session.scalars(
                select(ReadingWindow).where(ReadingWindow.status == WindowStatus.ANCHORED)
            )
        ] + [
            (f"submission {s.id}", s.tx_hash, s.block_number)
            for s in session.scalars(
                select(ComplianceSubmission).where(
                    ComplianceSubmission.status == SubmissionStatus.CONFIRMED,
                    ComplianceSubmission.tx_hash.is_not(None),  # type: ignore[union-attr]
                )
            )
        ]
    problems = []
    for what, tx_hash, block in records:
        receipt = rpc(w3, "eth_getTransactionReceipt", [tx_hash])
        if receipt is None or int(receipt["blockNumber"], 16) != block:  # type: ignore[index]
            problems.append(f"{what}: {tx_hash} is not in block {block}")
    return problems


def test_the_bridge_re_anchors_what_a_chain_restored_from_an_older_state_lost(
    chain, bridges, broker, tmp_path
):
    w3 = connect(chain.rpc_url)
    cold_chain = ColdChain(make_consortium(w3), ORACLE)
    lot = cold_chain.lot()
    devices = [cold_chain.device(lot) for _ in range(3)]
    rpc(w3, "evm_setIntervalMining", [BLOCK_TIME_S])
    deployment = cold_chain.consortium.deployment
    running = bridges.start(deployment, rpc_url=chain.rpc_url)
    engine = running.bridge.engine
    start_time = int(time.time()) - 60 * 300

    def temperature(seq: int) -> int:
        # A short excursion (seqs 151-153, 3 min of the rule's 10) in what the chain loses.
        return 9000 if 151 <= seq <= 153 else 5000

    streams = [
        steady_readings(
            device, lot, cold_chain.domain, count=300, start_time=start_time, temps=temperature
        )
        for device in devices
    ]
    per_seq = [list(batch) for batch in zip(*streams, strict=True)]
    older = tmp_path / "older-state.json"
    conditions: list[dict[str, str]] = []

    with MqttPublisher(host=broker.host, port=broker.port) as publisher:

        def publish(seqs: range) -> None:
            for seq in seqs:
                for signed in per_seq[seq - 1]:
                    topic = reading_topic(bridges.topic_prefix, signed.reading.device)
                    publisher.publish(topic, payload(signed))

        def caught_up(readings: int) -> bool:
            conditions.append(running.bridge.conditions())
            return drained(engine, readings)

        publish(range(1, 101))
        wait_for(lambda: caught_up(300), lambda: f"the first readings: {bridge_progress(engine)}")
        chain.stop()
        chain.save_state(older)
        chain.restart()
        older_head = w3.eth.block_number
        # Under load, over several blocks: windows, and the excursion's submission.
        for first in range(101, 201, 20):
            publish(range(first, first + 20))
            time.sleep(BLOCK_TIME_S)
        wait_for(lambda: caught_up(600), lambda: f"the next readings: {bridge_progress(engine)}")
        wait_for(lambda: w3.eth.block_number >= older_head + 8, "blocks beyond the older state")
        assert not any(conditions), f"degraded before any rollback: {conditions}"

        chain.stop()
        chain.restart(load_state=older)  # back to before everything of seqs 101-200
        assert w3.eth.block_number < older_head + 8
        publish(range(201, 301))
        wait_for(
            lambda: CHAIN_ROLLBACK in running.bridge.conditions(),
            "healthz to report the rollback",
            timeout_s=15,
        )
        wait_for(
            lambda: caught_up(900) and not running.bridge.conditions(),
            lambda: f"the bridge to catch up: {bridge_progress(engine)}, {conditions[-1]}",
            timeout_s=40,
        )

    expected = readings_of(r for batch in per_seq for r in batch)
    assert coverage_problems(anchored_windows(w3, deployment), expected) == []
    assert claims_not_on_chain(w3, engine) == []
    progress = bridge_progress(engine)
    assert (progress["inbox"], progress["dead_letters"], progress["failed_submissions"]) == (
        900,
        0,
        0,
    )
    decisions = cold_chain.compliance.events.ComplianceDecision.get_logs(
        from_block=deployment.deploy_block, argument_filters={"batchId": lot}
    )
    for device in devices:
        mine = [(d.args.seq, d.args.decision) for d in decisions if d.args.device == device.address]
        assert mine == [
            (151, Decision.EXCURSION_STARTED),
            (152, Decision.EXCURSION_EXTENDED),
            (153, Decision.EXCURSION_EXTENDED),
            (154, Decision.EXCURSION_ENDED),
        ], "the excursion's submission reached the chain again, once"
    assert cold_chain.consortium.writer().batch(lot).status is BatchStatus.ACTIVE
