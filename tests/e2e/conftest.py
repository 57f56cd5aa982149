"""Fixtures of the end-to-end tests: cold-chain consortia on anvil, and running bridge
instances (bridge threads + MQTT source) that every test stops."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from web3 import Web3

from api.app import create_app
from ledger_client.deployment import Deployment
from ledger_client.local_chain import free_port
from oracle_bridge.bridge import Bridge
from oracle_bridge.sources.mqtt import MqttSource
from tests.e2e.e2e_factories import RecordingIngestor, e2e_settings, save_deployment, wait_for
from tests.factories import BridgeDatabases, Broker, make_consortium
from tests.oracle_bridge.runtime.bridge_runtime_factories import ORACLE, ColdChain


@pytest.fixture(scope="module", autouse=True)
def threads_stopped() -> Iterator[None]:
    """Every thread a module's tests and fixtures started has ended when it is done."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10
    while (left := set(threading.enumerate()) - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"threads still running: {sorted(thread.name for thread in left)}"


@pytest.fixture(scope="module")
def cold_chain(w3: Web3) -> ColdChain:
    """One consortium (with an ORACLE account) per module: tests make their own lots."""
    return ColdChain(make_consortium(w3), ORACLE)


@dataclass
class BridgeInstance:
    """One running bridge: its threads (unless it only ingests) and its MQTT source."""

    bridge: Bridge
    ingestor: RecordingIngestor
    source: MqttSource | None
    client_id: str


class BridgeInstances:
    """Starts bridge instances on the real services; `close()` stops every one."""

    def __init__(
        self,
        request: pytest.FixtureRequest,
        directory: Path,
        broker: Broker,
        topic_prefix: str,
    ) -> None:
        self._request = request
        self._directory = directory
        self.broker = broker
        self.topic_prefix = topic_prefix
        self.shared_group = f"e2e-{uuid.uuid4().hex[:8]}"
        self._databases: list[BridgeDatabases] = []
        self._started: list[BridgeInstance] = []
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def database_url(self, backend: str = "sqlite") -> str:
        """A fresh bridge database: a SQLite file, or a schema of the test PostgreSQL."""
        postgres = self._request.getfixturevalue("postgres_url") if backend != "sqlite" else None
        databases = BridgeDatabases(backend, self._directory, postgres)
        self._databases.append(databases)
        return databases.url()

    def start(
        self,
        deployment: Deployment,
        *,
        rpc_url: str,
        database_url: str | None = None,
        submitter: bool = True,
        mqtt: bool = True,
        **settings: object,
    ) -> BridgeInstance:
        """A bridge from settings (deployment record, RPC URL, database), its window and
        submitter threads running when `submitter`, fed by an MQTT source when `mqtt`."""
        state_dir = save_deployment(deployment, self._directory / f"state-{uuid.uuid4().hex[:8]}")
        bridge = Bridge.from_settings(
            e2e_settings(
                rpc_url=rpc_url,
                state_dir=state_dir,
                database_url=database_url or self.database_url(),
                topic_prefix=self.topic_prefix,
                shared_group=self.shared_group,
                **settings,
            )
        )
        client_id = f"e2e-bridge-{uuid.uuid4().hex[:12]}"
        instance = BridgeInstance(bridge, RecordingIngestor(bridge.ingestor), None, client_id)
        self._started.append(instance)
        if submitter:
            bridge.start()
        if mqtt:
            self.attach_mqtt(instance)
        return instance

    def attach_mqtt(self, instance: BridgeInstance) -> None:
        """Feed the instance from the test's shared subscription (its own client id)."""
        instance.source = MqttSource(
            instance.ingestor,
            host=self.broker.host,
            port=self.broker.port,
            topic_prefix=self.topic_prefix,
            shared_group=self.shared_group,
            client_id=instance.client_id,
            session_expiry_s=60,
            reconnect_min_s=0.1,
            reconnect_max_s=1.0,
        )
        instance.source.start()

    def serve_http(self, instance: BridgeInstance) -> str:
        """Serve the instance's HTTP API (`POST /api/v1/readings`); its base URL."""
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(instance.ingestor), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, name=f"http-{port}", daemon=True)
        self._servers.append((server, thread))
        thread.start()
        wait_for(lambda: server.started, "the HTTP API to listen")
        return f"http://127.0.0.1:{port}"

    def close(self) -> None:
        for server, thread in self._servers:
            server.should_exit = True
            thread.join(10)
        for instance in self._started:
            if instance.source is not None:
                instance.source.stop(timeout_s=5)
        for instance in self._started:
            instance.bridge.close()
            instance.bridge.engine.dispose()
        for databases in self._databases:
            databases.close()


@pytest.fixture
def bridges(
    request: pytest.FixtureRequest, tmp_path: Path, broker: Broker, topic_prefix: str
) -> Iterator[BridgeInstances]:
    instances = BridgeInstances(request, tmp_path, broker, topic_prefix)
    try:
        yield instances
    finally:
        instances.close()


@pytest.fixture(scope="module")
def module_bridges(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, broker: Broker
) -> Iterator[BridgeInstances]:
    """`bridges` for a whole module, on a topic tree of its own."""
    instances = BridgeInstances(
        request,
        tmp_path_factory.mktemp("bridges"),
        broker,
        f"provenance-test/{uuid.uuid4().hex[:12]}/readings",
    )
    try:
        yield instances
    finally:
        instances.close()
