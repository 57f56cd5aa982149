"""Packed readings: the `packedReadings` calldata of `anchorReadings`.

Layout, big-endian: header [device address: 20 bytes][firstTimestamp: uint64], then one
7-byte record per reading [uint16 seconds since the previous reading (0 for the first)]
[int24 tempMilliC][uint16 humidityPermille]. Seqs are contiguous from `firstSeq` and the
batch id is an argument of `anchorReadings`, so every reading is recoverable from calldata.
"""

from __future__ import annotations

from collections.abc import Sequence

from oracle_bridge.addresses import checksum_address
from oracle_bridge.errors import MalformedPacking, PackingError
from oracle_bridge.readings import Reading

HEADER_BYTES = 28
RECORD_BYTES = 7
MAX_DELTA_SECONDS = 2**16 - 1
INT24_MIN, INT24_MAX = -(2**23), 2**23 - 1


def _check_fits(readings: Sequence[Reading], index: int) -> None:
    reading = readings[index]
    if not INT24_MIN <= reading.temp_milli_c <= INT24_MAX:
        raise PackingError(index, f"temperature {reading.temp_milli_c} m°C does not fit int24")
    if index == 0:
        return
    first, previous = readings[0], readings[index - 1]
    if reading.device != first.device:
        raise PackingError(index, f"device {reading.device} differs from {first.device}")
    if reading.batch_id != first.batch_id:
        raise PackingError(index, "batch id differs from the first reading's")
    if reading.seq != previous.seq + 1:
        raise PackingError(index, f"seq {reading.seq} does not follow seq {previous.seq}")
    delta = reading.timestamp - previous.timestamp
    if not 0 <= delta <= MAX_DELTA_SECONDS:
        raise PackingError(index, f"{delta} s since the previous reading is outside 0..65535")


def pack(readings: Sequence[Reading]) -> bytes:
    """The readings (one device, one batch, contiguous seqs) as `packedReadings`.

    Raises:
        PackingError: at the first reading that cannot join the ones before it (other device
            or batch, a seq that does not follow, more than 65,535 s or a timestamp going
            back, a temperature beyond int24); close the window before `error.index`.
    """
    if not readings:
        raise PackingError(0, "there are no readings to pack")
    first = readings[0]
    parts = [bytes.fromhex(first.device[2:]), first.timestamp.to_bytes(8, "big")]
    previous_timestamp = first.timestamp
    for index, reading in enumerate(readings):
        _check_fits(readings, index)
        parts.append(
            (reading.timestamp - previous_timestamp).to_bytes(2, "big")
            + reading.temp_milli_c.to_bytes(3, "big", signed=True)
            + reading.humidity_permille.to_bytes(2, "big")
        )
        previous_timestamp = reading.timestamp
    return b"".join(parts)


def unpack(packed: bytes, *, batch_id: bytes, first_seq: int) -> list[Reading]:
    """The readings `pack` packed, given the batch id and first seq sent alongside.

    Raises:
        MalformedPacking: a length that is not header + whole records, no records, or a
            first record with a non-zero delta.
        MalformedReading: a field out of range (e.g. a timestamp past uint64).
    """
    body = len(packed) - HEADER_BYTES
    if body < RECORD_BYTES or body % RECORD_BYTES:
        raise MalformedPacking(
            f"{len(packed)} bytes is not a {HEADER_BYTES}-byte header plus"
            f" {RECORD_BYTES}-byte records (at least one)"
        )
    if packed[HEADER_BYTES : HEADER_BYTES + 2] != b"\x00\x00":
        raise MalformedPacking("the first record's seconds since the previous must be 0")
    device = checksum_address(packed[:20])
    timestamp = int.from_bytes(packed[20:HEADER_BYTES], "big")
    readings = []
    for index, offset in enumerate(range(HEADER_BYTES, len(packed), RECORD_BYTES)):
        timestamp += int.from_bytes(packed[offset : offset + 2], "big")
        readings.append(
            Reading(
                device=device,
                batch_id=batch_id,
                seq=first_seq + index,
                timestamp=timestamp,
                temp_milli_c=int.from_bytes(packed[offset + 2 : offset + 5], "big", signed=True),
                humidity_permille=int.from_bytes(packed[offset + 5 : offset + 7], "big"),
            )
        )
    return readings
