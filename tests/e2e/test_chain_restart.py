"""The chain goes down mid-stream and comes back from its saved state: the bridge keeps
taking readings into its inbox, backs off, and catches up with nothing lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_factories import (
    anchored_windows,
    bridge_progress,
    coverage_problems,
    drained,
    readings_of,
    steady_readings,
    wait_for,
)
from sqlalchemy import select

from ledger_client.chain import connect, rpc
from ledger_client.local_chain import LocalChain, free_port, start_anvil
from oracle_bridge.readings import SignedReading
from oracle_bridge.sources import reading_topic
from oracle_bridge.sources.mqtt import MqttPublisher
from oracle_bridge.store import ReadingWindow, WindowStatus, reading_session
from tests.bridge_runtime.bridge_runtime_factories import ORACLE, ColdChain, payload
from tests.conftest import make_consortium

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

    def restart(self) -> None:
        assert self.chain is None
        self.chain = start_anvil(
            port=self.port,
            dump_state=self._state,
            load_state=self._state,
            block_time=BLOCK_TIME_S,
        )


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
        if r.getMessage().startswith("the chain refused or did not answer")
    ]
    assert len(retries) >= 2 and retries[1] > retries[0], f"no backoff: {retries}"
