"""Shared fixtures: a real anvil per test session, fresh contracts per test, funded actors;
the machine's PostgreSQL and Mosquitto (skipped when unreachable, failing instead under
PROVENANCE_REQUIRE_SERVICES=1) with fresh bridge databases and MQTT sources on them."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from web3 import Web3

from ledger_client.artifacts import compile_contracts
from ledger_client.chain import connect
from ledger_client.db import make_engine
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.keys import ANVIL_DEV_KEYS
from ledger_client.ledger import LedgerWriter
from ledger_client.local_chain import LocalChain, start_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.contracts import ComplianceRulesClient
from oracle_bridge.native import HotPath, PythonHotPath, load_native
from oracle_bridge.rules import Rule
from oracle_bridge.sources import ReadingIngestor
from oracle_bridge.sources.mqtt import MqttPublisher, MqttSource
from oracle_bridge.store import create_bridge_tables
from tests.node_proxy import disguised_node

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIRE_SERVICES = os.environ.get("PROVENANCE_REQUIRE_SERVICES") == "1"
PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_USERS = ("postgres", "root")
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883

# anvil's deterministic development accounts (mnemonic "test test ... junk"): the first six.
ANVIL_KEYS = list(ANVIL_DEV_KEYS[:6])


# GS1's example company prefix: that of GTIN 09506000134352 and every GTIN the tests use.
BRAND_PREFIX = "9506000"


@dataclass
class Consortium:
    """Fresh contracts with one account per role; `outsider` holds none; `operator` owns
    the company prefix `BRAND_PREFIX`."""

    w3: Web3
    deployment: Deployment
    governor: LocalAccount
    operator: LocalAccount
    quality: LocalAccount
    outsider: LocalAccount

    def sender(self, account: LocalAccount) -> TransactionSender:
        return TransactionSender(self.w3, account, receipt_timeout_s=30)

    def writer(self, account: LocalAccount | None = None) -> LedgerWriter:
        return LedgerWriter(self.sender(account or self.operator), self.deployment)

    def membership(self, account: LocalAccount | None = None) -> MembershipClient:
        return MembershipClient(self.sender(account or self.governor), self.deployment)

    def set_rule(self, product_class: bytes, rule: Rule) -> None:
        """The governor makes `quality` the class's authority, which then sets its rule."""
        ComplianceRulesClient(self.sender(self.governor), self.deployment).assign_class_authority(
            product_class, self.quality.address
        )
        ComplianceRulesClient(self.sender(self.quality), self.deployment).set_rule(
            product_class, rule
        )


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


def make_consortium(w3: Web3) -> Consortium:
    """Deploy fresh contracts and grant the roles of `Consortium`."""
    governor = Account.from_key(ANVIL_KEYS[0])
    deployment = deploy_contracts(w3, governor_key="0x" + governor.key.hex().removeprefix("0x"))
    operator, quality, outsider = (Account.from_key(k) for k in ANVIL_KEYS[1:4])
    membership = MembershipClient(TransactionSender(w3, governor), deployment)
    membership.grant_role(Role.OPERATOR, operator.address)
    membership.grant_role(Role.QUALITY, quality.address)
    membership.grant_role(Role.QUARANTINE, quality.address)
    LedgerWriter(TransactionSender(w3, governor), deployment).assign_prefix(
        BRAND_PREFIX, operator.address
    )
    return Consortium(w3, deployment, governor, operator, quality, outsider)


@pytest.fixture
def deployment(consortium: Consortium) -> Deployment:
    return consortium.deployment


@pytest.fixture
def writer(consortium: Consortium) -> LedgerWriter:
    return consortium.writer()


def _unavailable(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)  # only without PROVENANCE_REQUIRE_SERVICES=1


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
    _unavailable(
        f"PostgreSQL unreachable at {PG_HOST}:{PG_PORT}/{PG_DATABASE} ({'; '.join(errors)})"
    )


class ScratchDatabases:
    """Fresh databases of one backend (a SQLite file or a PostgreSQL schema) holding the
    tables `create_tables` makes, all removed after the test."""

    prefix = "test"

    def __init__(self, backend: str, directory: Path, postgres_url: str | None) -> None:
        self.backend = backend
        self._directory = directory
        self._postgres_url = postgres_url
        self._schemas: list[str] = []
        self._engines: list[Engine] = []

    def create_tables(self, engine: Engine) -> None:
        raise NotImplementedError

    def url(self) -> str:
        """The URL of a new, empty database."""
        if self.backend == "sqlite":
            return f"sqlite:///{self._directory / f'{self.prefix}_{uuid.uuid4().hex[:8]}.db'}"
        schema = f"{self.prefix}_test_{uuid.uuid4().hex[:12]}"
        self._admin(f"CREATE SCHEMA {schema}")
        self._schemas.append(schema)
        return f"{self._postgres_url}?options=-csearch_path%3D{schema}"

    def engine(self, url: str | None = None) -> Engine:
        """An engine on `url` (a new database by default) with the tables created."""
        engine = make_engine(url or self.url())
        self.create_tables(engine)
        self._engines.append(engine)
        return engine

    def delete(self, engine: Engine) -> None:
        """Delete the database behind `engine` entirely and leave an empty one in its place."""
        engine.dispose()
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(str(engine.url.database) + suffix).unlink(missing_ok=True)
        else:
            schema = engine.url.query["options"].split("=", 1)[1]
            self._admin(f"DROP SCHEMA {schema} CASCADE")
            self._admin(f"CREATE SCHEMA {schema}")

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        for schema in self._schemas:
            self._admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def _admin(self, sql: str) -> None:
        assert self._postgres_url is not None
        with psycopg.connect(self._postgres_url, autocommit=True) as connection:
            connection.execute(sql)


class BridgeDatabases(ScratchDatabases):
    prefix = "bridge"

    def create_tables(self, engine: Engine) -> None:
        create_bridge_tables(engine)


@dataclass(frozen=True)
class Broker:
    host: str
    port: int


@pytest.fixture(scope="session")
def broker() -> Broker:
    """Mosquitto at 127.0.0.1:1883; skips when unreachable, fails instead under
    PROVENANCE_REQUIRE_SERVICES=1."""
    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=3):
            return Broker(MQTT_HOST, MQTT_PORT)
    except OSError as exc:
        _unavailable(f"Mosquitto unreachable at {MQTT_HOST}:{MQTT_PORT} ({exc})")


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
