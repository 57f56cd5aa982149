"""The device simulator: a profile's readings, signed and sent to the bridge over HTTP or MQTT.

`simulated_readings` describes the stream (ending now: devices never report the future) and
makes each reading only when it is asked for; `send_readings` pulls it one batch at a time,
paced, through a `ReadingSender` (one adapter per transport), so a run of any length takes
the same memory.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from oracle_bridge.device import ReadingProfile, ReadingStream
from oracle_bridge.errors import DeliveryFailed
from oracle_bridge.readings import SignedReading, to_json
from oracle_bridge.sources import reading_topic


class Profile(StrEnum):
    """The reading patterns the cold-chain rule reacts to."""

    STEADY = "steady"
    EXCURSION = "excursion"
    GAP = "gap"
    HARD_LIMIT = "hard-limit"


def simulated_readings(
    *,
    device: str,
    batch_id: bytes,
    profile: Profile,
    count: int,
    interval_s: int,
    first_seq: int,
    end_timestamp: int,
    event_temp_milli_c: int,
    event_seconds: int,
    start_timestamp: int | None = None,
) -> ReadingStream:
    """`profile`'s readings of `device`: the first at `start_timestamp` if given, else timed so
    that the last is at `end_timestamp`.

    `count` in-range readings (`steady`), or `count` in-range readings, the event, then one
    in-range reading: an excursion at `event_temp_milli_c` lasting `event_seconds`, a data gap
    of `event_seconds`, or one reading at the hard limit `event_temp_milli_c`.

    Raises:
        MalformedReading: some reading would be out of its field's range (e.g. a stream that
            long, ending now, would start before 1970).
    """

    def stream(start: int) -> ReadingStream:
        readings = ReadingProfile(
            device=device,
            batch_id=batch_id,
            start_timestamp=start,
            interval_seconds=interval_s,
            first_seq=first_seq,
        )
        if profile is Profile.STEADY:
            return readings.steady(count)
        if profile is Profile.EXCURSION:
            return readings.excursion(
                temp_milli_c=event_temp_milli_c, duration_seconds=event_seconds, before=count
            )
        if profile is Profile.GAP:
            return readings.data_gap(gap_seconds=event_seconds, before=count)
        return readings.hard_limit(temp_milli_c=event_temp_milli_c, before=count)

    if start_timestamp is not None:
        return stream(start_timestamp)
    return stream(end_timestamp - stream(0).span_seconds)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What the bridge (or broker) said of one reading: `accepted`, `duplicate`, `rejected`
    (with `reason`), or `published` (MQTT: the broker has it; the bridge judges it later)."""

    status: str
    reason: str | None = None


class ReadingSender(Protocol):
    def send(self, batch: Sequence[SignedReading]) -> list[SendOutcome]:
        """Deliver `batch`; one outcome per reading, in order.

        Raises:
            DeliveryFailed: the batch was not delivered (nothing is known about its readings).
        """
        ...


class HttpReadingSender:
    """POSTs batches to the bridge's `/api/v1/readings` (standard library only)."""

    def __init__(self, base_url: str, *, timeout_s: float = 30.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._endpoint = self._base_url + "/api/v1/readings"
        self._timeout_s = timeout_s

    def send(self, batch: Sequence[SignedReading]) -> list[SendOutcome]:
        body = ("[" + ",".join(to_json(signed) for signed in batch) + "]").encode()
        request = urllib.request.Request(
            self._endpoint,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                results = json.load(response)
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(
                f"the bridge at {self._base_url} answered HTTP {exc.code}: {_detail(exc)}"
            ) from None
        except OSError as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(
                f"no bridge answers at {self._base_url} ({reason}); start one with "
                "`provenance bridge run` or pass --url"
            ) from None
        return [SendOutcome(result["status"], result.get("reason")) for result in results]


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(error)["detail"])
    except (ValueError, KeyError, TypeError, OSError):
        return error.reason


class PublishingSender:
    """Publishes each reading to `{prefix}/{device}` through an MQTT publisher."""

    def __init__(self, publisher: Publisher, *, topic_prefix: str) -> None:
        self._publisher = publisher
        self._topic_prefix = topic_prefix

    def send(self, batch: Sequence[SignedReading]) -> list[SendOutcome]:
        for signed in batch:
            topic = reading_topic(self._topic_prefix, signed.reading.device)
            self._publisher.publish(topic, to_json(signed).encode())
        return [SendOutcome("published")] * len(batch)


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1; return once the broker acknowledged it."""
        ...


@dataclass
class SendReport:
    """What the bridge (or broker) said of the readings sent: how many had each status, and
    the reason of the first rejection."""

    statuses: Counter[str] = field(default_factory=Counter)
    first_rejection: str | None = None

    @property
    def sent(self) -> int:
        return self.statuses.total()

    def add(self, outcomes: Iterable[SendOutcome]) -> None:
        for outcome in outcomes:
            self.statuses[outcome.status] += 1
            if outcome.status == "rejected" and self.first_rejection is None:
                self.first_rejection = outcome.reason


def send_readings(
    readings: Iterable[SignedReading],
    sender: ReadingSender,
    *,
    batch_size: int,
    rate: float | None = None,
    on_sent: Callable[[int], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send `readings` in batches of `batch_size`, or one by one at `rate` readings per second,
    taking each batch from `readings` only when it is its turn (a lazy stream stays lazy).

    `on_sent(n)` is called after each delivered batch of `n` readings (for progress bars).

    Raises:
        DeliveryFailed: a batch was not delivered; the ones before it were.
    """
    if rate is not None:
        batch_size = 1
    report = SendReport()
    pending = iter(readings)
    started = clock()
    while batch := list(itertools.islice(pending, batch_size)):
        if rate is not None:
            delay = started + report.sent / rate - clock()
            if delay > 0:
                sleep(delay)
        report.add(sender.send(batch))
        on_sent(len(batch))
    return report
