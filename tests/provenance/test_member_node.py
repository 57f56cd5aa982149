"""The member node's start and stop order, with fakes for what it runs: MQTT optional or
required, a SIGTERM while serving, and everything started stopped whatever happens."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from oracle_bridge.errors import BrokerUnavailable
from provenance.node import MemberNode

pytestmark = pytest.mark.unit

NO_BROKER = (
    "no MQTT broker answers at 127.0.0.1:1 ([Errno 111] Connection refused); start the broker "
    "or point the bridge at another one"
)


class Part:
    """A fake of the bridge, follower, MQTT source or server: records what is done to it."""

    subscription = "$share/provenance-bridge/provenance/readings/+"

    def __init__(self, name: str, events: list[str], *, fails: bool = False, term: bool = False):
        self.name, self.events, self.fails, self.term = name, events, fails, term

    def start(self) -> None:
        if self.fails:
            raise BrokerUnavailable(NO_BROKER)
        self.events.append(f"{self.name} started")

    def run(self, sockets: list) -> None:
        self.events.append("serving")
        if self.term:
            signal.raise_signal(signal.SIGTERM)
            self.events.append("still serving after SIGTERM")

    def stop(self) -> None:
        self.events.append(f"{self.name} stopped")

    def close(self) -> None:
        self.events.append(f"{self.name} closed")


@pytest.fixture(autouse=True)
def sigterm_restored() -> Iterator[None]:
    saved = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, saved)


def node(events: list[str], *, mqtt_fails: bool, required: bool, term: bool = False) -> MemberNode:
    return MemberNode(
        server=Part("server", events, term=term),  # type: ignore[arg-type]
        bridge=Part("bridge", events),  # type: ignore[arg-type]
        mqtt=Part("mqtt", events, fails=mqtt_fails),  # type: ignore[arg-type]
        mqtt_required=required,
        follower=Part("follower", events),  # type: ignore[arg-type]
    )


def test_a_node_starts_its_parts_and_stops_them_in_order():
    events: list[str] = []
    node(events, mqtt_fails=False, required=True).serve(lambda: events.append("ready"))
    assert events == [
        "bridge started",
        "follower started",
        "mqtt started",
        "ready",
        "serving",
        "mqtt stopped",
        "bridge closed",
        "follower stopped",
    ]


def test_sigterm_while_serving_stops_the_node_cleanly():
    events: list[str] = []
    node(events, mqtt_fails=False, required=True, term=True).serve()
    assert "still serving after SIGTERM" not in events
    assert events[-3:] == ["mqtt stopped", "bridge closed", "follower stopped"]


def test_a_broker_that_does_not_answer_leaves_an_optional_mqtt_off(caplog):
    events: list[str] = []
    served = node(events, mqtt_fails=True, required=False)
    served.serve(lambda: events.append("ready"))
    assert served.mqtt is None
    assert "ready" in events and "serving" in events
    assert f"{NO_BROKER}; taking readings over HTTP only" in caplog.messages


def test_a_required_broker_that_does_not_answer_stops_the_start_cleanly():
    events: list[str] = []
    with pytest.raises(BrokerUnavailable) as refused:
        node(events, mqtt_fails=True, required=True).serve(lambda: events.append("ready"))
    assert str(refused.value) == f"{NO_BROKER} (or run with --no-mqtt)"
    assert "ready" not in events and "serving" not in events
    assert events == [
        "bridge started",
        "follower started",
        "mqtt stopped",  # a source whose start failed: MqttSource.stop does nothing then
        "bridge closed",
        "follower stopped",
    ]
