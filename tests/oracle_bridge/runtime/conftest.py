"""Fixtures of the bridge runtime tests: bridge databases (SQLite, PostgreSQL), fakes, a clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from oracle_bridge.device import DeviceKey
from oracle_bridge.ingest import Ingestor
from oracle_bridge.native import HotPath
from oracle_bridge.policy.memory import InMemoryDevicePolicy, InMemoryRuleSource
from tests.factories import BACKENDS, BridgeDatabases
from tests.oracle_bridge.runtime.bridge_runtime_factories import BATCH, DOMAIN, RULE, T0


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BridgeDatabases]:
    with BridgeDatabases.of_backend(request, tmp_path) as databases:
        yield databases


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
def ingestor(
    engine: Engine, policy: InMemoryDevicePolicy, clock: Clock, hot_path: HotPath
) -> Ingestor:
    return Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock, hot_path=hot_path)
