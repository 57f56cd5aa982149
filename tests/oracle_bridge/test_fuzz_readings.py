"""Fuzz the bridge's parsers of outside input with one stream of hostile bodies: the HTTP body
splitter (`split_json_array`), the reading decoder (`from_json`), the C screening path
(`screen_all`) and its Python reference (`screen`). Each gives a result or its documented
error; the C path and the Python reference agree on every reading."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import MalformedBatch, MalformedReading, TooManyReadings
from oracle_bridge.native import HotPath, PythonHotPath, load_native
from oracle_bridge.readings import Reading, ReadingDomain, SignedReading, from_json, to_json
from oracle_bridge.screening import Refusal, Screened, screen, screen_all
from oracle_bridge.sources.batch import split_json_array
from tests.hostile_json import fuzz, hostile_texts

# The C hot path these tests hold to Python's answers (the reference where it is missing:
# `test_readings_are_screened_in_c_here` then fails).
NATIVE = load_native()
IN_C: HotPath = NATIVE or PythonHotPath()

pytestmark = pytest.mark.unit

DEVICE = DeviceKey.from_private_key(
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
)
DOMAIN = ReadingDomain(
    chain_id=31337, verifying_contract="0x5FbDB2315678afecb367f032d93F642f64180aa3"
)
NOW = 1_700_100_000.0
LIMITS = {"max_message_bytes": 4_096, "max_future_skew_s": 300}
SIGNED = [
    to_json(
        DEVICE.sign(
            Reading(
                device=DEVICE.address,
                batch_id=bytes([seq]) * 32,
                seq=seq,
                timestamp=1_700_000_000 + seq,
                temp_milli_c=(-1) ** seq * 1_000 * seq,
                humidity_permille=seq,
            ),
            domain=DOMAIN,
        )
    ).encode()
    for seq in range(8)
]
# Edits an attacker makes to a valid signed reading: a field repeated, nested, made huge,
# NaN, a lone surrogate or NUL, whitespace, escapes, another spelling of the device.
EDITS = [
    (b'"seq":', b'"seq":1,"seq":'),
    (b'"seq":', b'"\\ud800":1,"\\ud800":2,"seq":'),
    (b'"seq":', b'"\\u0000":1,"seq":'),
    (b'"seq":', b' "seq" : '),
    (b'"seq":', b'"s\\u0065q":'),
    (b'"tempMilliC":', b'"tempMilliC":' + b"9" * 5_000 + b',"x":'),
    (b'"tempMilliC":', b'"tempMilliC":NaN,"x":'),
    (b'"tempMilliC":', b'"tempMilliC":1e999,"x":'),
    (b'"humidityPermille":', b'"humidityPermille":' + b"[" * 100_000 + b"]" * 100_000 + b',"x":'),
    (b'"humidityPermille":', b'"humidityPermille":' + b"[" * 100_000),
    (b'"device":"0x', b'"device":"0X'),
    (b"}", b"} "),
    (b"}", b",}"),
]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A signed reading, edited, or hostile JSON text."""
    if draw(st.booleans()):
        return draw(hostile_texts())
    raw = draw(st.sampled_from(SIGNED))
    for _ in range(draw(st.integers(0, 2))):
        old, new = draw(st.sampled_from(EDITS))
        raw = raw.replace(old, new, 1)
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    return raw


def test_readings_are_screened_in_c_here():
    assert NATIVE is not None


@fuzz
@given(bodies(), st.sampled_from([None, 0, 1, 3]))
def test_every_parser_of_readings_answers_a_result_or_its_error(raw: bytes, max_items: int | None):
    body = b"[" + raw + b"," + raw + b"]"
    try:
        items = split_json_array(body, max_items=max_items)
    except TooManyReadings as exc:
        assert max_items is not None and exc.max_items == max_items
        items = None
    except MalformedBatch as exc:
        assert str(exc)
        items = None
    if items is not None:
        assert all(item and item in body for item in items)
        assert max_items is None or len(items) <= max_items

    try:
        decoded = from_json(raw)
    except MalformedReading as exc:
        assert str(exc)
        # What is kept as a refusal reason must be storable text.
        exc.field.encode("utf-8")
        assert "\x00" not in exc.field
    else:
        assert isinstance(decoded, SignedReading)

    options = dict(domain=DOMAIN, now=NOW, **LIMITS)
    reference = screen(raw, **options)  # type: ignore[arg-type]
    assert isinstance(reference, Screened | Refusal)
    if isinstance(reference, Refusal):
        reference.reason.encode("utf-8")
    assert screen_all([raw], hot_path=IN_C, **options) == [reference]  # type: ignore[arg-type]
