"""The simulator's reading streams and pacing, without any transport."""

from __future__ import annotations

import pytest
from ingress_fakes import BATCH_ID, DEVICE, DOMAIN

from oracle_bridge.simulator import Profile, SendOutcome, send_readings, simulated_readings

pytestmark = pytest.mark.unit
NOW = 1_800_000_000


@pytest.mark.parametrize("profile", list(Profile))
def test_every_profile_ends_now_with_contiguous_seqs(profile):
    readings = simulated_readings(
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
    outcomes = send_readings(signed(7), sender, batch_size=3, on_sent=progress.append)
    assert sender.batches == progress == [3, 3, 1]
    assert len(outcomes) == 7


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
    readings = simulated_readings(
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
    assert [r.timestamp - NOW for r in readings] == [10, 70, 7270]
