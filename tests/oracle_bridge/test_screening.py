"""Screening in C (`_hotpath.c`) decides every raw reading exactly as the Python `screen` does.

The C code only passes readings; all else falls back to Python. So each case checks both
that `screen_all` (C first) equals `screen` one by one, and, where it matters, which way
the C code went: a plain device reading must pass in C, an unusual one must be left to Python.
"""

from __future__ import annotations

import json

import pytest
from coincurve import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle_bridge.native import HotPath, PythonHotPath, load_native
from oracle_bridge.readings import (
    READING_TYPE_HASH,
    ReadingDomain,
    digest,
    to_json,
    to_json_object,
)
from oracle_bridge.screening import (
    Refusal,
    Screened,
    from_plain,
    screen,
    screen_all,
    screen_all_plain,
)
from oracle_bridge.verification import SECP256K1_HALF_N, SECP256K1_N
from tests.oracle_bridge.bridge_factories import BATCH_ID, DEVICE, DOMAIN, T0, reading

# The C hot path these tests hold to Python's answers (the reference where it is missing:
# `test_readings_are_screened_in_c_here` then fails).
NATIVE = load_native()
hotpath = NATIVE.module if NATIVE is not None else None
IN_C: HotPath = NATIVE or PythonHotPath()

NOW = T0 + 100.0
OPTIONS = {"domain": DOMAIN, "now": NOW, "max_message_bytes": 4096, "max_future_skew_s": 300}
OTHER_KEY = PrivateKey()


def raw_of(seq: int = 5, timestamp: int = T0, **fields: object) -> bytes:
    return to_json(DEVICE.sign(reading(seq, timestamp, **fields), domain=DOMAIN)).encode()


def edited(change, **fields: object) -> bytes:  # type: ignore[no-untyped-def]
    """A signed reading's JSON object after `change(obj)`, serialized compactly."""
    obj = to_json_object(DEVICE.sign(reading(5, T0, **fields), domain=DOMAIN))
    change(obj)
    return json.dumps(obj, separators=(",", ":")).encode()


def passed_in_c(raws: list[bytes]) -> list[bool]:
    passed = hotpath.screen_many(  # type: ignore[union-attr]
        raws,
        READING_TYPE_HASH,
        DOMAIN.separator,
        NOW + OPTIONS["max_future_skew_s"],
        OPTIONS["max_message_bytes"],
    )
    return [item is not None for item in passed]


def agrees(raws: list[bytes]) -> list[Screened | Refusal]:
    """`screen_all`'s results, after checking they are Python's (named tuples of the same
    kind, not just equal tuples) and that the plain form a worker returns makes them whole."""
    expected = [screen(raw, **OPTIONS) for raw in raws]
    results = screen_all(raws, hot_path=IN_C, **OPTIONS)
    made_whole = [from_plain(item) for item in screen_all_plain(raws, hot_path=IN_C, **OPTIONS)]
    for found in (results, made_whole):
        assert found == expected
        assert [type(item) for item in found] == [type(item) for item in expected]
    return results


def with_signature(raw: bytes, signature: bytes) -> bytes:
    obj = json.loads(raw)
    obj["signature"] = "0x" + signature.hex()
    return json.dumps(obj).encode()


def test_readings_are_screened_in_c_here() -> None:
    assert NATIVE is not None


def test_readings_of_known_devices_are_batch_verified_here() -> None:
    assert hotpath is not None and hotpath.BATCH_VERIFY == 1


def test_a_plain_device_reading_passes_in_c_with_the_fields_python_finds() -> None:
    raws = [raw_of(seq, T0 + seq, temp_milli_c=-2500 + seq) for seq in range(1, 50)]

    results = agrees(raws)

    assert passed_in_c(raws) == [True] * len(raws)
    assert all(isinstance(result, Screened) for result in results)
    assert results[0].device == DEVICE.address and results[0].batch_id == BATCH_ID


def signature_of(raw: bytes) -> bytes:
    return bytes.fromhex(json.loads(raw)["signature"][2:])


PLAIN = raw_of()
SIGNATURE = signature_of(PLAIN)
R, S = int.from_bytes(SIGNATURE[:32], "big"), int.from_bytes(SIGNATURE[32:64], "big")


def signed_by(key: PrivateKey) -> bytes:
    """The plain reading's digest signed by `key` (r||s||v, v in 27/28)."""
    signature = key.sign_recoverable(digest(reading(5, T0), domain=DOMAIN), hasher=None)
    return signature[:64] + bytes([signature[64] + 27])


def wrong_checksum(address: str) -> str:
    """`address` with the case of its first letter flipped."""
    at = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:at] + address[at].swapcase() + address[at + 1 :]


def rs(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


UNUSUAL = {
    "oversized": PLAIN + b" " * 4096,
    "not JSON": b"{device",
    "not UTF-8": b"\xff" + PLAIN,
    "a list": b"[" + PLAIN + b"]",
    "trailing garbage": PLAIN + b"x",
    "a missing key": edited(lambda o: o.pop("seq")),
    "an extra key": edited(lambda o: o.update(extra=1)),
    "a duplicate key": PLAIN[:-1] + b',"seq":6}',
    "an escaped key": PLAIN.replace(b'"seq"', b'"\\u0073eq"'),
    "a float": PLAIN.replace(b'"seq":5', b'"seq":5.0'),
    "an exponent": PLAIN.replace(b'"seq":5', b'"seq":5e0'),
    "minus zero": PLAIN.replace(b'"seq":5', b'"seq":-0'),
    "a leading zero": PLAIN.replace(b'"seq":5', b'"seq":05'),
    "a string number": PLAIN.replace(b'"seq":5', b'"seq":"5"'),
    "a boolean": PLAIN.replace(b'"seq":5', b'"seq":true'),
    "a negative seq": PLAIN.replace(b'"seq":5', b'"seq":-5'),
    "NaN": PLAIN.replace(b'"seq":5', b'"seq":NaN'),
    "a 19-digit seq": raw_of(seq=2**63 - 1),
    "seq above int64": raw_of(seq=2**63),
    "a hot reading beyond int24": raw_of(temp_milli_c=8_388_608),
    "the int24 floor": raw_of(temp_milli_c=-8_388_608),
    "humidity at its top": raw_of(humidity_permille=65_535),
    "a future timestamp": raw_of(timestamp=int(NOW) + 301),
    "the latest timestamp allowed": raw_of(timestamp=int(NOW) + 300),
    "a short batch id": edited(lambda o: o.update(batchId="0x" + "ab" * 31)),
    "a batch id without 0x": edited(lambda o: o.update(batchId="ab" * 32)),
    "an upper-case batch id": edited(lambda o: o.update(batchId="0x" + "AB" * 32)),
    "a lower-case device": edited(lambda o: o.update(device=o["device"].lower())),
    "an upper-case device": edited(lambda o: o.update(device="0x" + o["device"][2:].upper())),
    "a wrong checksum": edited(lambda o: o.update(device=wrong_checksum(o["device"]))),
    "a device of 19 bytes": edited(lambda o: o.update(device=o["device"][:-2])),
    "whitespace all over": json.dumps(json.loads(PLAIN), indent=2).encode() + b"\n",
    "keys in another order": json.dumps(dict(reversed(json.loads(PLAIN).items()))).encode(),
    "a 64-byte signature": with_signature(PLAIN, SIGNATURE[:64]),
    "v of 0": with_signature(PLAIN, SIGNATURE[:64] + bytes([SIGNATURE[64] - 27])),
    "v of 29": with_signature(PLAIN, SIGNATURE[:64] + bytes([29])),
    "high s": with_signature(PLAIN, rs(R, SECP256K1_N - S, 55 - SIGNATURE[64])),
    "s of half n": with_signature(PLAIN, rs(R, SECP256K1_HALF_N, 27)),
    "r zero": with_signature(PLAIN, rs(0, S, SIGNATURE[64])),
    "s zero": with_signature(PLAIN, rs(R, 0, SIGNATURE[64])),
    "r of n": with_signature(PLAIN, rs(SECP256K1_N, S, SIGNATURE[64])),
    "an unrecoverable signature": with_signature(PLAIN, rs(1, 1, 27)),
    "another device's signature": with_signature(PLAIN, signed_by(OTHER_KEY)),
    "signed for another chain": with_signature(
        PLAIN,
        DEVICE.sign(reading(5, T0), domain=ReadingDomain(1, DOMAIN.verifying_contract)).signature,
    ),
    "a tampered reading": PLAIN.replace(b'"humidityPermille":500', b'"humidityPermille":501'),
}
ACCEPTED = {
    "a 19-digit seq",
    "an escaped key",
    "the latest timestamp allowed",
    "the int24 floor",
    "humidity at its top",
    "an upper-case batch id",
    "a lower-case device",
    "an upper-case device",
    "whitespace all over",
    "keys in another order",
}
# Python parses what is beyond int64 or escaped; it checks the device's checksum after C.
PASSING_IN_C = ACCEPTED - {"a 19-digit seq", "an escaped key"} | {"a wrong checksum"}


@pytest.mark.parametrize("case", sorted(UNUSUAL))
def test_each_unusual_reading_is_decided_as_python_decides_it(case: str) -> None:
    raw = UNUSUAL[case]

    [result] = agrees([raw])

    assert passed_in_c([raw]) == [case in PASSING_IN_C]
    assert isinstance(result, Screened) == (case in ACCEPTED)


def test_a_batch_mixing_both_keeps_its_order() -> None:
    raws = [raw_of(seq) for seq in range(1, 6)] + list(UNUSUAL.values()) + [raw_of(99)]

    results = agrees(raws)

    assert [r.seq for r in results[:5]] == [1, 2, 3, 4, 5] and results[-1].seq == 99


def test_raw_readings_that_are_not_bytes_are_screened_in_python() -> None:
    text = PLAIN.decode()
    assert screen_all([text], hot_path=IN_C, **OPTIONS) == [screen(text, **OPTIONS)]  # type: ignore[list-item]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(PLAIN) - 1),
    st.integers(min_value=0, max_value=255),
    st.booleans(),
)
def test_any_corrupted_byte_is_decided_as_python_decides_it(
    position: int, value: int, truncate: bool
) -> None:
    raw = (
        PLAIN[:position] if truncate else PLAIN[:position] + bytes([value]) + PLAIN[position + 1 :]
    )
    agrees([raw])


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**64 - 1),
    st.integers(min_value=0, max_value=2**64 - 1),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.integers(min_value=0, max_value=2**16 - 1),
)
def test_any_field_values_are_decided_as_python_decides_them(
    seq: int, timestamp: int, temp: int, humidity: int
) -> None:
    agrees([raw_of(seq, timestamp, temp_milli_c=temp, humidity_permille=humidity)])
