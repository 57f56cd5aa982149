"""Shared fixtures: a real anvil per test session, fresh contracts per test, funded actors;
the machine's PostgreSQL and Mosquitto (skipped when unreachable, failing instead under
PROVENANCE_REQUIRE_SERVICES=1) with fresh bridge databases and MQTT sources on them."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from web3 import Web3

from ledger_client.artifacts import compile_contracts
from ledger_client.chain import connect
from ledger_client.deployment import Deployment
from ledger_client.ledger import LedgerWriter
from ledger_client.local_chain import LocalChain, start_anvil
from oracle_bridge.native import HotPath, PythonHotPath, load_native
from oracle_bridge.sources import ReadingIngestor
from oracle_bridge.sources.mqtt import MqttPublisher, MqttSource
from tests.factories import (
    MQTT_HOST,
    MQTT_PORT,
    PG_DATABASE,
    PG_HOST,
    PG_PORT,
    PG_USERS,
    Broker,
    Consortium,
    make_consortium,
    unavailable,
)
from tests.node_proxy import disguised_node


@pytest.fixture(scope="session")
def compiled() -> None:
    compile_contracts()


@pytest.fixture(scope="session")
def anvil(compiled: None) -> Iterator[LocalChain]:
    chain = start_anvil()
    try:
        yield chain
    finally:
        chain.stop()


@pytest.fixture(scope="session")
def w3(anvil: LocalChain) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture
def besu_node(anvil: LocalChain) -> Iterator[str]:
    """The URL of a node that says it is Besu (`web3_clientVersion`): the session's anvil
    behind a proxy, for the checks that ask the node whether it is anvil."""
    with disguised_node(anvil.rpc_url) as url:
        yield url


@pytest.fixture
def consortium(w3: Web3) -> Consortium:
    return make_consortium(w3)


@pytest.fixture
def deployment(consortium: Consortium) -> Deployment:
    return consortium.deployment


@pytest.fixture
def writer(consortium: Consortium) -> LedgerWriter:
    return consortium.writer()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL's URL; skips when it is unreachable, fails instead under
    PROVENANCE_REQUIRE_SERVICES=1."""
    errors = []
    for user in PG_USERS:
        try:
            with psycopg.connect(
                host=PG_HOST, port=PG_PORT, dbname=PG_DATABASE, user=user, connect_timeout=3
            ):
                return f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
        except psycopg.OperationalError as exc:
            errors.append(f"as {user}: {str(exc).strip()}")
    unavailable(
        f"PostgreSQL unreachable at {PG_HOST}:{PG_PORT}/{PG_DATABASE} ({'; '.join(errors)})"
    )


@pytest.fixture(scope="session")
def broker() -> Broker:
    """Mosquitto at 127.0.0.1:1883; skips when unreachable, fails instead under
    PROVENANCE_REQUIRE_SERVICES=1."""
    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=3):
            return Broker(MQTT_HOST, MQTT_PORT)
    except OSError as exc:
        unavailable(f"Mosquitto unreachable at {MQTT_HOST}:{MQTT_PORT} ({exc})")


@pytest.fixture
def topic_prefix() -> str:
    """A topic tree of this test's own, so leftovers of other runs never reach it."""
    return f"provenance-test/{uuid.uuid4().hex[:12]}/readings"


SourceFactory = Callable[..., MqttSource]


@pytest.fixture
def mqtt_sources(broker: Broker, topic_prefix: str) -> Iterator[SourceFactory]:
    """Builds started MQTT sources on this test's topics (one shared group); stops them all."""
    group = f"bridge-{uuid.uuid4().hex[:8]}"
    started: list[MqttSource] = []

    def start(ingestor: ReadingIngestor, *, client_id: str | None = None) -> MqttSource:
        source = MqttSource(
            ingestor,
            host=broker.host,
            port=broker.port,
            topic_prefix=topic_prefix,
            shared_group=group,
            client_id=client_id or f"test-bridge-{uuid.uuid4().hex[:12]}",
            session_expiry_s=60,
            reconnect_min_s=0.1,
            reconnect_max_s=1.0,
        )
        source.start()
        started.append(source)
        return source

    yield start
    for source in started:
        source.stop(timeout_s=5)


# Both hot paths, the C one required (a test fails where it is not built or not trusted);
# PROVENANCE_NATIVE=0 (`.ci/run`'s second pass) runs the Python reference alone.
_HOT_PATHS = ["python"] if os.environ.get("PROVENANCE_NATIVE") == "0" else ["python", "c"]


@pytest.fixture(scope="session", params=_HOT_PATHS)
def hot_path(request: pytest.FixtureRequest) -> HotPath:
    if request.param == "python":
        return PythonHotPath()
    native = load_native()
    assert native is not None, "the C hot path is not built or not trusted (see the log)"
    return native


@pytest.fixture
def native_hot_path() -> HotPath:
    """The C hot path, for tests comparing it with the reference; required."""
    native = load_native()
    assert native is not None, "the C hot path is not built or not trusted (see the log)"
    return native


@pytest.fixture
def publisher(broker: Broker) -> Iterator[MqttPublisher]:
    with MqttPublisher(host=broker.host, port=broker.port) as connected:
        yield connected
