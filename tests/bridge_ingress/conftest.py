"""The real Mosquitto of this machine, and MQTT sources that every test stops."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from oracle_bridge.sources import ReadingIngestor
from oracle_bridge.sources.mqtt import MqttPublisher, MqttSource

MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


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
        reason = f"Mosquitto unreachable at {MQTT_HOST}:{MQTT_PORT} ({exc})"
    if os.environ.get("PROVENANCE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)  # only without PROVENANCE_REQUIRE_SERVICES=1


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


@pytest.fixture
def publisher(broker: Broker) -> Iterator[MqttPublisher]:
    with MqttPublisher(host=broker.host, port=broker.port) as connected:
        yield connected
