"""A batch's readings as the API serves them (`BatchReadings`): paged with a capped page,
summarised per device, and each reading's Merkle proof checked against the chain (a real
anvil; the bridge database on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from oracle_bridge.batch_readings import BatchReadings
from oracle_bridge.errors import ReadingNotAnchored, ReadingNotFound
from oracle_bridge.store import InboxReading, writing
from tests.factories import make_consortium
from tests.oracle_bridge.runtime.bridge_runtime_factories import (
    ORACLE,
    RULE,
    T0,
    ColdChain,
    bridge_settings,
    payload,
    signed_of,
)

pytestmark = pytest.mark.integration

# seq -> m°C, 60 s apart: seq 4 and 5 above the rule's 8 °C, one excursion of 60 s.
TEMPS = {1: 4000, 2: 5000, 3: 6000, 4: 9000, 5: 9500, 6: 3000, 7: 2500, 8: 5000, 9: 5500, 10: 6000}


@pytest.fixture(scope="module")
def cold_chain(w3) -> ColdChain:
    return ColdChain(make_consortium(w3), ORACLE)


@pytest.fixture
def anchored(cold_chain, databases):
    """Ten readings of one device on a new lot, anchored in windows of five; (lot, device,
    engine, BatchReadings)."""
    c = cold_chain.consortium
    engine = databases.engine()
    bridge = cold_chain.bridge(
        engine, settings=bridge_settings(window_max_readings=5), clock=lambda: T0 + 100_000
    )
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    for seq, temp in TEMPS.items():
        signed = signed_of(device, seq, domain=bridge.domain, batch_id=lot, temp_milli_c=temp)
        assert bridge.ingestor.accept(payload(signed), source="test").status == "accepted"
    bridge.run_once()
    readings = BatchReadings(
        engine, w3=c.w3, deployment=c.deployment, rule_of=lambda b: RULE if b == lot else None
    )
    try:
        yield lot, device, engine, readings, bridge
    finally:
        bridge.close()


def test_pages_by_device_and_seq_with_their_anchoring(anchored):
    lot, device, _, readings, _ = anchored
    first = readings.page(lot, offset=0, limit=4)
    last = readings.page(lot, offset=8, limit=4)

    assert first.total == last.total == 10
    assert [r.reading.seq for r in first.readings] == [1, 2, 3, 4]
    assert [r.reading.seq for r in last.readings] == [9, 10]
    assert all(r.anchor_tx_hash and r.reading.device == device.address for r in first.readings)
    assert readings.page(b"\x00" * 32, offset=0, limit=10).total == 0
    for offset, limit in ((0, 0), (0, 1001), (-1, 10)):
        with pytest.raises(ValueError, match="limit must be 1..1000"):
            readings.page(lot, offset=offset, limit=limit)


def test_summary_per_device(anchored):
    lot, device, _, readings, _ = anchored
    (summary,) = readings.summary(lot)

    assert (summary.device, summary.readings) == (device.address, 10)
    assert (summary.min_c, summary.max_c) == (2.5, 9.5)
    assert summary.seconds_out_of_range == 60
    assert 2.5 < summary.mean_kinetic_c < 9.5
    assert summary.last_timestamp - summary.first_timestamp == 9 * 60
    assert readings.summary(b"\x00" * 32) == []


def test_a_proof_is_checked_against_the_anchored_root(anchored):
    lot, device, engine, readings, bridge = anchored
    check = readings.proof(device.address, 9)
    assert check.verified is True and check.reason is None
    assert (check.reading.seq, check.leaf_index) == (9, 3)
    assert check.anchor_tx_hash == readings.page(lot, offset=8, limit=1).readings[0].anchor_tx_hash

    # The bridge's copy altered after anchoring: the chain no longer confirms it.
    with writing(engine) as session:
        session.execute(
            update(InboxReading)
            .where(InboxReading.device == device.address, InboxReading.seq == 9)
            .values(temp_milli_c=5501)
        )
    doctored = readings.proof(device.address, 9)
    assert doctored.verified is False and "different values" in (doctored.reason or "")
    assert doctored.merkle_root != check.merkle_root


def test_unknown_and_unanchored_readings_are_told_apart(anchored):
    lot, device, _, readings, bridge = anchored
    with pytest.raises(ReadingNotFound):
        readings.proof(device.address, 99)
    signed = signed_of(device, 11, domain=bridge.domain, batch_id=lot, temp_milli_c=5000)
    assert bridge.ingestor.accept(payload(signed), source="test").status == "accepted"
    with pytest.raises(ReadingNotAnchored):
        readings.proof(device.address, 11)


def test_temperatures_are_in_time_order_with_the_rules_band(anchored):
    lot, _, _, readings, _ = anchored
    series = readings.temperatures(lot)

    assert [celsius for _, celsius in series.points] == [t / 1000 for _, t in sorted(TEMPS.items())]
    times = [at for at, _ in series.points]
    assert times == sorted(times) and times[-1] - times[0] == 9 * 60
    assert series.band == (RULE.min_milli_c / 1000, RULE.max_milli_c / 1000)
    empty = readings.temperatures(b"\x00" * 32)
    assert (empty.points, empty.band) == ([], None)
