"""Fixtures of the bridge runtime tests: bridge databases (SQLite, PostgreSQL), fakes, a clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from bridge_runtime_factories import BATCH, DOMAIN, RULE, T0
from sqlalchemy import Engine

from ledger_client.indexer.database import make_engine
from oracle_bridge.device import DeviceKey
from oracle_bridge.ingest import Ingestor
from oracle_bridge.policy import InMemoryDevicePolicy, InMemoryRuleSource
from oracle_bridge.store import create_bridge_tables

PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_USERS = ("postgres", "root")


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
    reason = f"PostgreSQL unreachable at {PG_HOST}:{PG_PORT}/{PG_DATABASE} ({'; '.join(errors)})"
    if os.environ.get("PROVENANCE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)  # only without PROVENANCE_REQUIRE_SERVICES=1


class BridgeDatabases:
    """Fresh bridge databases of one backend (a SQLite file or a PostgreSQL schema)."""

    def __init__(self, backend: str, directory: Path, postgres_url: str | None) -> None:
        self.backend = backend
        self._directory = directory
        self._postgres_url = postgres_url
        self._schemas: list[str] = []
        self._engines: list[Engine] = []

    def url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self._directory / f'bridge_{uuid4().hex[:8]}.db'}"
        schema = f"bridge_test_{uuid4().hex[:12]}"
        self._admin(f"CREATE SCHEMA {schema}")
        self._schemas.append(schema)
        return f"{self._postgres_url}?options=-csearch_path%3D{schema}"

    def engine(self, url: str | None = None) -> Engine:
        engine = make_engine(url or self.url())
        create_bridge_tables(engine)
        self._engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        for schema in self._schemas:
            self._admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def _admin(self, sql: str) -> None:
        assert self._postgres_url is not None
        with psycopg.connect(self._postgres_url, autocommit=True) as connection:
            connection.execute(sql)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BridgeDatabases]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    databases = BridgeDatabases(request.param, tmp_path, postgres)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite bridge database (the unit tests' backend)."""
    databases = BridgeDatabases("sqlite", tmp_path, None)
    try:
        yield databases.engine()
    finally:
        databases.close()


class Clock:
    """A settable clock, starting a little after the factories' device timestamps."""

    def __init__(self, now: float = T0 + 100_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def device() -> DeviceKey:
    return DeviceKey.generate()


@pytest.fixture
def rules() -> InMemoryRuleSource:
    return InMemoryRuleSource({BATCH: RULE})


@pytest.fixture
def policy(rules: InMemoryRuleSource, device: DeviceKey) -> InMemoryDevicePolicy:
    policy = InMemoryDevicePolicy(rules=rules)
    policy.register(device.address, batch_id=BATCH)
    return policy


@pytest.fixture
def ingestor(engine: Engine, policy: InMemoryDevicePolicy, clock: Clock) -> Ingestor:
    return Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock)
