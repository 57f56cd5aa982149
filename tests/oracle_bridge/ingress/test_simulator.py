"""The simulator's reading streams and pacing, without any transport."""

from __future__ import annotations

import itertools

import pytest

import oracle_bridge.device
from oracle_bridge.errors import DeliveryFailed
from oracle_bridge.readings import Reading
from oracle_bridge.simulator import Profile, SendOutcome, send_readings, simulated_readings
from tests.oracle_bridge.ingress.ingress_fakes import BATCH_ID, DEVICE, DOMAIN

pytestmark = pytest.mark.unit
NOW = 1_800_000_000


@pytest.mark.parametrize("profile", list(Profile))
def test_every_profile_ends_now_with_contiguous_seqs(profile):
    stream = simulated_readings(
        device=DEVICE.address,
        batch_id=BATCH_ID,
        profile=profile,
        count=4,
        interval_s=60,
        first_seq=10,
        end_timestamp=NOW,
        event_temp_milli_c=30_000,
        event_seconds=600,
    )
    readings = list(stream)
    assert (stream.first, stream.last, stream.count) == (readings[0], readings[-1], len(readings))
    assert readings[-1].timestamp == NOW
    assert [r.seq for r in readings] == list(range(10, 10 + len(readings)))
    assert all(a.timestamp <= b.timestamp for a, b in zip(readings, readings[1:], strict=False))
    if profile is Profile.STEADY:
        assert len(readings) == 4
    else:
        assert [r.temp_milli_c for r in readings[:4]] == [5000] * 4
        assert readings[-1].temp_milli_c == 5000


class RecordingSender:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def send(self, batch):  # noqa: ANN001, ANN201 - a test double
        self.batches.append(len(batch))
        return [SendOutcome("accepted")] * len(batch)


def signed(count: int):  # noqa: ANN201 - test helper
    readings = simulated_readings(
        device=DEVICE.address,
        batch_id=BATCH_ID,
        profile=Profile.STEADY,
        count=count,
        interval_s=60,
        first_seq=1,
        end_timestamp=NOW,
        event_temp_milli_c=0,
        event_seconds=0,
    )
    return [DEVICE.sign(reading, domain=DOMAIN) for reading in readings]


def test_without_a_rate_readings_go_in_batches():
    sender = RecordingSender()
    progress: list[int] = []
    report = send_readings(signed(7), sender, batch_size=3, on_sent=progress.append)
    assert sender.batches == progress == [3, 3, 1]
    assert report.statuses == {"accepted": 7}
    assert report.sent == 7


def test_a_rate_sends_one_by_one_on_schedule():
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))
        now[0] += seconds

    sender = RecordingSender()
    send_readings(signed(4), sender, batch_size=50, rate=2.0, clock=lambda: now[0], sleep=sleep)
    assert sender.batches == [1, 1, 1, 1]
    assert sleeps == [0.5, 0.5, 0.5]


def test_a_given_start_time_places_the_first_reading():
    readings = list(
        simulated_readings(
            device=DEVICE.address,
            batch_id=BATCH_ID,
            profile=Profile.GAP,
            count=2,
            interval_s=60,
            first_seq=3,
            end_timestamp=NOW,
            event_temp_milli_c=0,
            event_seconds=7200,
            start_timestamp=NOW + 10,
        )
    )
    assert [r.timestamp - NOW for r in readings] == [10, 70, 7270]


def counting_readings(monkeypatch, *, at_most: int) -> list[int]:
    """Make the device library count the readings it builds, failing past `at_most`."""
    made = [0]

    def reading(**fields: object) -> Reading:
        made[0] += 1
        assert made[0] <= at_most, f"more than {at_most:,} readings built up front"
        return Reading(**fields)  # type: ignore[arg-type]

    monkeypatch.setattr(oracle_bridge.device, "Reading", reading)
    return made


@pytest.mark.parametrize("profile", list(Profile))
def test_fifty_million_readings_are_made_only_as_they_are_taken(profile, monkeypatch):
    made = counting_readings(monkeypatch, at_most=1_000)
    stream = simulated_readings(
        device=DEVICE.address,
        batch_id=BATCH_ID,
        profile=profile,
        count=50_000_000,
        interval_s=1,
        first_seq=1,
        end_timestamp=NOW,
        event_temp_milli_c=30_000,
        event_seconds=600,
    )
    first_batch = list(itertools.islice(stream, 100))

    assert [r.seq for r in first_batch] == list(range(1, 101))
    assert [r.timestamp - first_batch[0].timestamp for r in first_batch] == list(range(100))
    assert stream.count >= 50_000_000
    assert stream.last is not None and stream.last.timestamp == NOW
    assert stream.last.seq == stream.count
    assert made[0] < 200


def test_sending_takes_one_batch_at_a_time_from_the_stream():
    taken = [0]
    taken_when_sent: list[int] = []

    def stream():  # noqa: ANN202 - a lazy stream that counts what is taken from it
        for one in itertools.cycle(signed(3)):
            taken[0] += 1
            yield one

    class StoppingSender(RecordingSender):
        def send(self, batch):  # noqa: ANN001, ANN201 - a test double
            taken_when_sent.append(taken[0])
            if len(self.batches) == 2:
                raise DeliveryFailed("the bridge went away")
            return super().send(batch)

    sender = StoppingSender()
    with pytest.raises(DeliveryFailed):
        send_readings(stream(), sender, batch_size=50)
    assert sender.batches == [50, 50]
    assert taken_when_sent == [50, 100, 150]


def test_a_report_counts_statuses_and_keeps_the_first_rejection():
    class MixedSender:
        def send(self, batch):  # noqa: ANN001, ANN201 - a test double
            return [
                SendOutcome("rejected", f"reason {r.reading.seq}")
                if r.reading.seq % 2
                else SendOutcome("accepted")
                for r in batch
            ]

    report = send_readings(signed(5), MixedSender(), batch_size=2)
    assert report.statuses == {"rejected": 3, "accepted": 2}
    assert report.first_rejection == "reason 1"
