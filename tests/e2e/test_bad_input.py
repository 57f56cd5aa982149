"""Bad readings sent through MQTT and HTTP into a bridge on the real chain: each ends as a dead
letter with a clear reason, and nothing else changes — not the bridge's tables, not the chain.
A QoS 1 redelivery is a duplicate, acknowledged and not rejected."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from ledger_client.lifecycle import BatchStatus
from oracle_bridge.bridge import Bridge
from oracle_bridge.device import DeviceKey
from oracle_bridge.ingest import SIGNATURE_MISMATCH
from oracle_bridge.policy import INACTIVE_DEVICE, UNASSIGNED_DEVICE, UNKNOWN_DEVICE
from oracle_bridge.readings import Reading, ReadingDomain
from oracle_bridge.sources import reading_topic
from oracle_bridge.sources.mqtt import MqttPublisher
from tests.e2e.e2e_factories import (
    RecordingIngestor,
    anchored_windows,
    coverage_problems,
    wait_for,
)
from tests.oracle_bridge.runtime.bridge_runtime_factories import (
    ORACLE,
    ColdChain,
    dead_letters,
    payload,
    snapshot,
    with_fields,
)

pytestmark = [pytest.mark.e2e, pytest.mark.services]


@dataclass
class Scene:
    """A lot with a registered device and another lot, on a bridge fed by one transport."""

    transport: str
    bridge: Bridge
    cold_chain: ColdChain
    lot: bytes
    other_lot: bytes
    device: DeviceKey
    domain: ReadingDomain
    other_contract: str  # DeviceRegistry: a real contract, not the one readings are for
    send: Callable[[bytes], dict]  # raw message -> what the bridge made of it
    start_time: int

    def reading(self, seq: int, *, device: DeviceKey | None = None, **fields: object) -> Reading:
        values: dict[str, object] = {
            "device": (device or self.device).address,
            "batch_id": self.lot,
            "seq": seq,
            "timestamp": self.start_time + 60 * seq,
            "temp_milli_c": 5000,
            "humidity_permille": 500,
        }
        return Reading(**(values | fields))  # type: ignore[arg-type]

    def signed(self, seq: int, *, key: DeviceKey | None = None, **fields: object) -> bytes:
        key = key or self.device
        return payload(key.sign(self.reading(seq, device=key, **fields), domain=self.domain))

    def accepted(self, raw: bytes) -> None:
        assert self.send(raw)["status"] == "accepted"


def forged(scene: Scene) -> bytes:
    forger = DeviceKey.generate()
    return with_fields(
        forger.sign(scene.reading(1, device=forger), domain=scene.domain),
        device=scene.device.address,
    )


def replayed(scene: Scene) -> bytes:
    scene.accepted(scene.signed(1))
    return scene.signed(1, temp_milli_c=5100)


def lower_seq(scene: Scene) -> bytes:
    """Below a seq a window already holds (before that, a late seq is still welcome)."""
    scene.accepted(scene.signed(2))
    assert [(w.first_seq, w.last_seq) for w in scene.bridge.windows.close_due()] == [(2, 2)]
    return scene.signed(1)


def of_inactive_device(scene: Scene) -> bytes:
    scene.cold_chain.set_active(scene.device, False)
    return scene.signed(1)


def for_another_chain(scene: Scene) -> bytes:
    domain = ReadingDomain(chain_id=1, verifying_contract=scene.domain.verifying_contract)
    return payload(scene.device.sign(scene.reading(1), domain=domain))


def for_another_contract(scene: Scene) -> bytes:
    domain = ReadingDomain(chain_id=scene.domain.chain_id, verifying_contract=scene.other_contract)
    return payload(scene.device.sign(scene.reading(1), domain=domain))


CASES: dict[str, tuple[Callable[[Scene], bytes], str, str]] = {
    "forged signature": (forged, "signature_mismatch", SIGNATURE_MISMATCH),
    "replayed reading": (replayed, "replayed_seq", "replayed seq with different content"),
    "lower seq": (
        lower_seq,
        "lower_seq",
        "lower seq than a reading already anchored in a window",
    ),
    "signed for another chain": (for_another_chain, "signature_mismatch", SIGNATURE_MISMATCH),
    "signed for another contract": (
        for_another_contract,
        "signature_mismatch",
        SIGNATURE_MISMATCH,
    ),
    "unknown device": (
        lambda scene: scene.signed(1, key=DeviceKey.generate()),
        "unknown_device",
        UNKNOWN_DEVICE,
    ),
    "inactive device": (of_inactive_device, "inactive_device", INACTIVE_DEVICE),
    "device of another lot": (
        lambda scene: scene.signed(1, batch_id=scene.other_lot),
        "unassigned_device",
        UNASSIGNED_DEVICE,
    ),
    "timestamp an hour ahead": (
        lambda scene: scene.signed(1, timestamp=int(time.time()) + 3600),
        "future_timestamp",
        "timestamp in the future",
    ),
    "malformed JSON": (lambda scene: MALFORMED[scene.transport], "malformed", "malformed: "),
}
# An HTTP body must be a JSON array, so there the malformed item is JSON but not a reading.
MALFORMED = {"mqtt": b'{"device": "0x12", "seq": ', "http": b'"a reading"'}


@dataclass
class Ingress:
    """A bridge (its window closer and submitter run by the test) fed by one transport."""

    transport: str
    bridge: Bridge
    ingestor: RecordingIngestor
    send: Callable[[str, bytes], dict]  # (device, raw message) -> what the bridge made of it


@pytest.fixture(scope="module", params=["mqtt", "http"])
def ingress(request, cold_chain, module_bridges, anvil, broker) -> Iterator[Ingress]:
    transport = request.param
    c = cold_chain.consortium
    running = module_bridges.start(
        c.deployment,
        rpc_url=anvil.rpc_url,
        submitter=False,  # the test runs its steps, deterministically
        mqtt=transport == "mqtt",
        window_max_age_s=0,
    )
    ingestor = running.ingestor
    with contextlib.ExitStack() as stack:
        if transport == "http":
            url = module_bridges.serve_http(running) + "/api/v1/readings"

            def send(device: str, raw: bytes) -> dict:
                request = urllib.request.Request(
                    url, data=b"[" + raw + b"]", headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    (result,) = json.load(response)
                return result

        else:
            publisher = stack.enter_context(MqttPublisher(host=broker.host, port=broker.port))

            def send(device: str, raw: bytes) -> dict:
                judged = ingestor.count()
                publisher.publish(reading_topic(module_bridges.topic_prefix, device), raw)
                wait_for(lambda: ingestor.count() > judged, "the bridge to judge the message")
                result = ingestor.results[judged]
                return {"status": result.status, "reason": result.reason}

        yield Ingress(transport, running.bridge, ingestor, send)


@pytest.fixture
def scene(ingress, cold_chain) -> Scene:
    lot, other_lot = cold_chain.lot(), cold_chain.lot()
    device = cold_chain.device(lot)
    return Scene(
        transport=ingress.transport,
        bridge=ingress.bridge,
        cold_chain=cold_chain,
        lot=lot,
        other_lot=other_lot,
        device=device,
        domain=cold_chain.domain,
        other_contract=cold_chain.consortium.deployment.address("DeviceRegistry"),
        send=lambda raw: ingress.send(device.address, raw),
        start_time=int(time.time()) - 3600,
    )


@pytest.mark.parametrize("case", CASES)
def test_a_bad_reading_is_dead_lettered_with_its_reason_and_changes_nothing(
    scene, cold_chain, case
):
    build, code, reason = CASES[case]
    bridge = scene.bridge
    raw = build(scene)  # may first send good readings, which are then anchored
    bridge.run_once()
    c = cold_chain.consortium
    tables, letters = snapshot(bridge.engine), len(dead_letters(bridge.engine))
    nonce = c.w3.eth.get_transaction_count(ORACLE.address)
    anchorings = anchored_windows(c.w3, c.deployment)

    result = scene.send(raw)

    assert result["status"] == "rejected"
    if code == "malformed":  # the parser's own words follow
        assert result["reason"].startswith(reason)
    else:
        assert result["reason"] == reason
    *_, letter = dead_letters(bridge.engine)
    assert (letter.reason_code, letter.reason) == (code, result["reason"])
    assert letter.source.startswith(scene.transport + ":")
    assert letter.payload == raw[: bridge.settings.max_message_bytes]
    assert (snapshot(bridge.engine), len(dead_letters(bridge.engine))) == (tables, letters + 1)
    report = bridge.run_once()
    assert (report.windows_closed, report.submitted.progressed) == ([], False)
    assert c.w3.eth.get_transaction_count(ORACLE.address) == nonce
    assert anchored_windows(c.w3, c.deployment) == anchorings
    assert c.writer().batch(scene.lot).status is BatchStatus.ACTIVE


def test_an_oversized_reading_is_dead_lettered_over_mqtt_and_refuses_its_request_over_http(
    scene,
):
    """MQTT cannot answer: the message is dead-lettered (up to the size limit) and
    acknowledged. HTTP refuses the whole request with 413 and keeps nothing of it."""
    bridge = scene.bridge
    raw = with_fields(scene.device.sign(scene.reading(1), domain=scene.domain), padding="x" * 5000)
    tables, letters = snapshot(bridge.engine), dead_letters(bridge.engine)

    if scene.transport == "mqtt":
        assert scene.send(raw) == {"status": "rejected", "reason": "oversized"}
        *_, letter = dead_letters(bridge.engine)
        assert (letter.reason_code, letter.payload) == ("oversized", raw[:4096])
        assert len(dead_letters(bridge.engine)) == len(letters) + 1
    else:
        with pytest.raises(urllib.error.HTTPError) as refused:
            scene.send(raw)
        assert refused.value.code == 413
        assert "over the limit of 4096 bytes a reading" in json.load(refused.value)["detail"]
        assert len(dead_letters(bridge.engine)) == len(letters)
    assert snapshot(bridge.engine) == tables


@pytest.mark.parametrize("ingress", ["mqtt"], indirect=True)
def test_a_qos1_redelivery_is_a_duplicate_not_a_rejection(ingress, cold_chain):
    c = cold_chain.consortium
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    start_time = int(time.time()) - 600
    first, second = (
        payload(
            device.sign(
                Reading(device.address, lot, seq, start_time + 60 * seq, 5000, 500),
                domain=cold_chain.domain,
            )
        )
        for seq in (1, 2)
    )
    judged = ingress.ingestor.count()
    # Stored, then the bridge "dies" before its PUBACK: the broker must deliver it again.
    ingress.ingestor.lose_acknowledgements = 1
    ingress.send(device.address, first)
    wait_for(lambda: ingress.ingestor.count() >= judged + 2, "the broker's redelivery")
    ingress.send(device.address, second)
    ingress.send(device.address, second)  # the device's own resend
    time.sleep(0.3)  # nothing more arrives

    assert [(r.status, r.seq) for r in ingress.ingestor.results[judged:]] == [
        ("accepted", 1),
        ("duplicate", 1),
        ("accepted", 2),
        ("duplicate", 2),
    ]
    letters = dead_letters(ingress.bridge.engine)
    assert [letter for letter in letters if letter.device == device.address] == []
    ingress.bridge.run_once()
    anchored = anchored_windows(c.w3, c.deployment)
    assert coverage_problems(anchored, {(lot, device.address): {1, 2}}) == []
