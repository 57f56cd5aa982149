"""Packed readings for anchorReadings: exact layout, limits, and a lossless round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle_bridge.errors import MalformedPacking, PackingError
from oracle_bridge.packing import HEADER_BYTES, RECORD_BYTES, pack, unpack
from oracle_bridge.readings import Reading
from tests.oracle_bridge.bridge_factories import BATCH_ID, DEVICE, T0, addresses, reading

pytestmark = pytest.mark.unit


@st.composite
def windows(draw: st.DrawFn) -> list[Reading]:
    """A packable window: one device and batch, contiguous seqs, deltas within uint16."""
    device = draw(addresses)
    batch_id = draw(st.binary(min_size=32, max_size=32))
    first_seq = draw(st.integers(0, 2**64 - 1000))
    timestamp = draw(st.integers(0, 2**64 - 1 - 200 * 65_535))
    records = draw(
        st.lists(
            st.tuples(
                st.integers(0, 65_535), st.integers(-(2**23), 2**23 - 1), st.integers(0, 65_535)
            ),
            min_size=1,
            max_size=200,
        )
    )
    window = []
    for index, (delta, temp, humidity) in enumerate(records):
        timestamp += delta if index else 0
        window.append(Reading(device, batch_id, first_seq + index, timestamp, temp, humidity))
    return window


@settings(deadline=None)
@given(windows())
def test_round_trip(window: list[Reading]) -> None:
    packed = pack(window)
    assert len(packed) == HEADER_BYTES + RECORD_BYTES * len(window)
    first = window[0]
    assert unpack(packed, batch_id=first.batch_id, first_seq=first.seq) == window


def test_exact_layout() -> None:
    window = [
        reading(10, T0, -1500, humidity_permille=450),
        reading(11, T0 + 60, 8_388_607, humidity_permille=65_535),
        reading(12, T0 + 65_595, -8_388_608, humidity_permille=0),
    ]
    expected = (
        bytes.fromhex(DEVICE.address[2:])
        + T0.to_bytes(8, "big")
        + bytes.fromhex("0000" + "fffa24" + "01c2")
        + bytes.fromhex("003c" + "7fffff" + "ffff")
        + bytes.fromhex("ffff" + "800000" + "0000")
    )
    assert pack(window) == expected
    assert unpack(expected, batch_id=BATCH_ID, first_seq=10) == window


@pytest.mark.parametrize(
    ("second", "index", "problem"),
    [
        (reading(2, T0 + 65_536), 1, "outside 0..65535"),
        (reading(2, T0 - 1), 1, "outside 0..65535"),
        (reading(3, T0 + 60), 1, "does not follow"),
        (reading(1, T0 + 60), 1, "does not follow"),
        (reading(2, T0 + 60, 8_388_608), 1, "int24"),
        (reading(2, T0 + 60, -8_388_609), 1, "int24"),
        (reading(2, T0 + 60, device="0x" + "11" * 20), 1, "device"),
        (reading(2, T0 + 60, batch_id=b"\x01" * 32), 1, "batch"),
    ],
)
def test_pack_stops_at_the_first_reading_that_does_not_fit(
    second: Reading, index: int, problem: str
) -> None:
    window = [reading(1, T0), second, reading(3, T0 + 120)]
    with pytest.raises(PackingError) as caught:
        pack(window)
    assert caught.value.index == index
    assert problem in caught.value.problem
    # the caller closes the window before the reading that did not fit
    assert unpack(pack(window[:index]), batch_id=BATCH_ID, first_seq=1) == window[:index]


def test_pack_rejects_an_empty_window_and_an_unpackable_first_reading() -> None:
    with pytest.raises(PackingError) as caught:
        pack([])
    assert caught.value.index == 0
    with pytest.raises(PackingError) as caught:
        pack([reading(1, T0, 2**23)])
    assert caught.value.index == 0


@pytest.mark.parametrize("length", [0, 27, 28, 34, 36, 28 + 7 * 3 + 1])
def test_unpack_rejects_wrong_lengths(length: int) -> None:
    packed = pack([reading(1, T0), reading(2, T0 + 1), reading(3, T0 + 2), reading(4, T0 + 3)])
    with pytest.raises(MalformedPacking):
        unpack(
            packed[:length] if length <= len(packed) else packed + b"\x00",
            batch_id=BATCH_ID,
            first_seq=1,
        )


def test_unpack_rejects_a_first_record_with_a_delta() -> None:
    packed = bytearray(pack([reading(1, T0)]))
    packed[HEADER_BYTES + 1] = 1
    with pytest.raises(MalformedPacking):
        unpack(bytes(packed), batch_id=BATCH_ID, first_seq=1)


def test_records_are_seven_bytes_so_a_day_of_minutely_readings_is_small() -> None:
    window = [reading(seq, T0 + 60 * seq) for seq in range(1, 1441)]
    assert len(pack(window)) == 28 + 7 * 1440
