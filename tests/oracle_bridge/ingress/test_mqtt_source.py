"""MQTT ingress end to end through the real Mosquitto, with an in-memory ingestor."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest

from ledger_client.local_chain import free_port
from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import BrokerUnavailable
from oracle_bridge.sources import reading_topic
from oracle_bridge.sources.mqtt import MqttPublisher, MqttSource
from tests.oracle_bridge.ingress.ingress_fakes import DEVICE, FakeIngestor, signed_json

pytestmark = pytest.mark.services

PAHO_LOG = "oracle_bridge.sources.mqtt.paho"


def pubacks(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.getMessage().startswith("Sending PUBACK") for r in caplog.records)


def wait_for(condition, timeout_s: float = 10) -> None:  # noqa: ANN001 - test helper
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_readings_arrive_and_are_acknowledged_only_after_accept_returned(
    mqtt_sources, publisher, topic_prefix, caplog
):
    caplog.set_level(logging.DEBUG, logger=PAHO_LOG)
    gate = threading.Event()
    ingestor = FakeIngestor(gate=gate)
    mqtt_sources(ingestor)
    topic = reading_topic(topic_prefix, DEVICE.address)
    for seq in range(1, 6):
        publisher.publish(topic, signed_json(seq))

    ingestor.wait_until(lambda fake: len(fake.calls) >= 1)
    time.sleep(0.3)
    assert pubacks(caplog) == 0, "a message was acknowledged while accept had not returned"
    gate.set()
    ingestor.wait_until(lambda fake: len(fake.returned) == 5)
    wait_for(lambda: pubacks(caplog) == 5)

    assert [seq for _, seq in ingestor.stored] == [1, 2, 3, 4, 5]
    assert {source for _, source in ingestor.calls} == {f"mqtt:{topic}"}
    assert [raw for raw, _ in ingestor.calls] == [signed_json(seq) for seq in range(1, 6)]


def test_messages_waiting_for_the_worker_are_ingested_as_one_batch(
    mqtt_sources, publisher, topic_prefix, caplog
):
    caplog.set_level(logging.DEBUG, logger=PAHO_LOG)
    gate = threading.Event()
    ingestor = FakeIngestor(gate=gate)
    mqtt_sources(ingestor)
    topic = reading_topic(topic_prefix, DEVICE.address)
    publisher.publish(topic, signed_json(1))
    ingestor.wait_until(lambda fake: len(fake.calls) == 1)
    for seq in range(2, 7):
        publisher.publish(topic, signed_json(seq))
    time.sleep(0.3)  # all five wait in the worker's queue
    assert pubacks(caplog) == 0

    gate.set()
    ingestor.wait_until(lambda fake: len(fake.returned) == 6)
    wait_for(lambda: pubacks(caplog) == 6)
    assert ingestor.batches == [1, 5]
    assert [raw for raw, _ in ingestor.calls] == [signed_json(seq) for seq in range(1, 7)]


def test_a_message_whose_accept_raised_is_redelivered_and_then_acknowledged(
    mqtt_sources, publisher, topic_prefix, caplog
):
    caplog.set_level(logging.DEBUG, logger=PAHO_LOG)
    ingestor = FakeIngestor(fail_times=1)
    mqtt_sources(ingestor)
    publisher.publish(reading_topic(topic_prefix, DEVICE.address), signed_json(1))

    ingestor.wait_until(lambda fake: len(fake.returned) == 1)
    assert [raw for raw, _ in ingestor.calls] == [signed_json(1)] * 2
    assert ingestor.returned[0].status == "accepted"
    wait_for(lambda: pubacks(caplog) == 1)


def test_a_message_unacknowledged_at_stop_comes_back_to_the_restarted_instance(
    mqtt_sources, publisher, topic_prefix
):
    gate = threading.Event()
    first = FakeIngestor(gate=gate)
    client_id = f"test-bridge-{uuid.uuid4().hex[:12]}"
    source = mqtt_sources(first, client_id=client_id)
    publisher.publish(reading_topic(topic_prefix, DEVICE.address), signed_json(7))
    first.wait_until(lambda fake: len(fake.calls) == 1)

    source.stop(timeout_s=0.2)  # accept still running: the message must stay unacknowledged
    gate.set()
    first.wait_until(lambda fake: len(fake.returned) == 1)

    second = FakeIngestor()
    mqtt_sources(second, client_id=client_id)
    second.wait_until(lambda fake: len(fake.returned) == 1)
    assert [raw for raw, _ in second.calls] == [signed_json(7)]


def test_two_instances_on_one_shared_subscription_split_the_messages(
    mqtt_sources, publisher, topic_prefix
):
    ingestors = [FakeIngestor(), FakeIngestor()]
    for ingestor in ingestors:
        mqtt_sources(ingestor)
    devices = [DeviceKey.generate() for _ in range(4)]
    sent = {signed_json(seq, key=device): None for device in devices for seq in range(1, 11)}
    for raw in sent:
        device = raw.split(b'"device":"')[1][:42].decode()
        publisher.publish(reading_topic(topic_prefix, device), raw)

    wait_for(lambda: sum(len(i.returned) for i in ingestors) == len(sent))
    time.sleep(0.2)  # nothing arrives twice
    received = [[raw for raw, _ in ingestor.calls] for ingestor in ingestors]
    assert all(received), "each instance gets a share of the messages"
    assert sorted(received[0] + received[1]) == sorted(sent)
    assert not set(received[0]) & set(received[1])


def test_oversized_and_malformed_payloads_reach_the_ingestor_and_are_acknowledged(
    mqtt_sources, publisher, topic_prefix
):
    ingestor = FakeIngestor()
    client_id = f"test-bridge-{uuid.uuid4().hex[:12]}"
    source = mqtt_sources(ingestor, client_id=client_id)
    topic = reading_topic(topic_prefix, DEVICE.address)
    bad = [b"not json", b"", b'{"device": 1}', b"[" * 200_000, signed_json(1)[:-2] + b"}"]
    for payload in bad:
        publisher.publish(topic, payload)

    ingestor.wait_until(lambda fake: len(fake.returned) == len(bad))
    assert [raw for raw, _ in ingestor.dead_letters] == bad
    assert {result.status for result in ingestor.returned} == {"rejected"}

    source.stop()
    publisher.publish(topic, signed_json(2))  # a marker behind anything redelivered
    again = FakeIngestor()
    mqtt_sources(again, client_id=client_id)
    again.wait_until(lambda fake: len(fake.returned) == 1)
    time.sleep(0.2)
    assert [raw for raw, _ in again.calls] == [signed_json(2)], "rejections were acknowledged"


def test_an_unreachable_broker_is_a_clear_error():
    port = free_port()
    source = MqttSource(
        FakeIngestor(),
        host="127.0.0.1",
        port=port,
        topic_prefix="provenance/readings",
        shared_group="bridge",
        client_id="unreachable",
    )
    with pytest.raises(BrokerUnavailable, match=f"no MQTT broker answers at 127.0.0.1:{port}"):
        source.start()
    source.stop()  # nothing to stop, and no error either
    with pytest.raises(BrokerUnavailable, match="no MQTT broker answers"):
        MqttPublisher(host="127.0.0.1", port=port).connect()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"topic_prefix": "a/+/b"}, "wildcards"),
        ({"topic_prefix": "a/"}, "must be non-empty"),
        ({"shared_group": "a/b"}, "shared group"),
        ({"client_id": ""}, "fixed client id"),
    ],
)
def test_bad_subscription_settings_are_refused(options, problem):
    settings = {
        "host": "127.0.0.1",
        "port": 1883,
        "topic_prefix": "provenance/readings",
        "shared_group": "bridge",
        "client_id": "bridge-1",
        **options,
    }
    with pytest.raises(ValueError, match=problem):
        MqttSource(FakeIngestor(), **settings)


@pytest.fixture
def source_with_tries(broker, topic_prefix):
    """Builds started MQTT sources giving up on a message after `max_tries`; stops them."""
    group = f"bridge-{uuid.uuid4().hex[:8]}"
    started: list[MqttSource] = []

    def start(ingestor: FakeIngestor, *, max_tries: int, client_id: str) -> MqttSource:
        source = MqttSource(
            ingestor,
            host=broker.host,
            port=broker.port,
            topic_prefix=topic_prefix,
            shared_group=group,
            client_id=client_id,
            session_expiry_s=60,
            reconnect_min_s=0.1,
            reconnect_max_s=0.2,
            max_tries=max_tries,
        )
        source.start()
        started.append(source)
        return source

    yield start
    for source in started:
        source.stop(timeout_s=5)


def test_a_message_that_keeps_failing_is_dead_lettered_after_its_tries_and_not_redelivered(
    source_with_tries, publisher, topic_prefix, caplog
):
    caplog.set_level(logging.DEBUG, logger=PAHO_LOG)
    poison = b'{"a fault of the bridge": 1}'
    gate = threading.Event()
    ingestor = FakeIngestor(poison={poison}, gate=gate)
    client_id = f"test-bridge-{uuid.uuid4().hex[:12]}"
    source = source_with_tries(ingestor, max_tries=3, client_id=client_id)
    topic = reading_topic(topic_prefix, DEVICE.address)
    publisher.publish(topic, signed_json(1))
    ingestor.wait_until(lambda fake: len(fake.calls) == 1)
    for payload in (signed_json(2), poison, signed_json(3)):
        publisher.publish(topic, payload)
    time.sleep(0.3)  # the three wait in the worker's queue: one batch
    gate.set()

    ingestor.wait_until(lambda fake: len(fake.dead_letters) == 1)
    reason = "ingesting failed 3 times: RuntimeError: a fault of the bridge on a poison message"
    assert ingestor.dead_letters == [(poison, reason)]
    # The batch's good readings were stored at its first failure, each on its own.
    assert [seq for _, seq in ingestor.stored] == [1, 2, 3]
    assert [raw for raw, _ in ingestor.calls].count(signed_json(2)) == 2
    # In the batch, then alone at each of its three tries.
    assert [raw for raw, _ in ingestor.calls].count(poison) == 4
    wait_for(lambda: pubacks(caplog) == 4)

    source.stop()
    publisher.publish(topic, signed_json(4))  # a marker behind anything redelivered
    again = FakeIngestor()
    source_with_tries(again, max_tries=3, client_id=client_id)
    again.wait_until(lambda fake: len(fake.returned) == 1)
    time.sleep(0.2)
    assert [raw for raw, _ in again.calls] == [signed_json(4)], "the poison came back"


def test_a_store_outage_longer_than_the_tries_never_dead_letters(
    source_with_tries, publisher, topic_prefix
):
    ingestor = FakeIngestor(fail_times=4)
    source_with_tries(ingestor, max_tries=2, client_id=f"test-bridge-{uuid.uuid4().hex[:12]}")
    publisher.publish(reading_topic(topic_prefix, DEVICE.address), signed_json(1))

    ingestor.wait_until(lambda fake: len(fake.returned) == 1)
    assert [raw for raw, _ in ingestor.calls] == [signed_json(1)] * 5
    assert ingestor.returned[0].status == "accepted"
    assert ingestor.dead_letters == []
