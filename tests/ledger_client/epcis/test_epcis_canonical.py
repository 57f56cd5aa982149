"""RFC 8785 canonical JSON of EPCIS events and their keccak256 anchors."""

from __future__ import annotations

import copy
import json
import random
import struct
from typing import Any

import pytest
import rfc8785
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.epcis.canonical import (
    CanonicalizationError,
    canonicalize,
    event_hash,
    event_payload,
    self_describing,
)
from ledger_client.errors import LedgerError

pytestmark = pytest.mark.unit

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=25,
)


def _double(bits: int) -> float:
    return struct.unpack(">d", bits.to_bytes(8, "big"))[0]


# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical JSON numbers.
@pytest.mark.parametrize(
    ("bits", "expected"),
    [
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),  # -0
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7FEFFFFFFFFFFFFF, "1.7976931348623157e+308"),
        (0xFFEFFFFFFFFFFFFF, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xC340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44B52D02C7E14AF5, "9.999999999999997e+22"),
        (0x44B52D02C7E14AF6, "1e+23"),
        (0x44B52D02C7E14AF7, "1.0000000000000001e+23"),
        (0x444B1AE4D6E2EF4E, "999999999999999700000"),
        (0x444B1AE4D6E2EF4F, "999999999999999900000"),
        (0x444B1AE4D6E2EF50, "1e+21"),
        (0x3EB0C6F7A0B5ED8C, "9.999999999999997e-7"),
        (0x3EB0C6F7A0B5ED8D, "0.000001"),
        (0x41B3DE4355555553, "333333333.3333332"),
        (0x41B3DE4355555554, "333333333.33333325"),
        (0x41B3DE4355555555, "333333333.3333333"),
        (0x41B3DE4355555556, "333333333.3333334"),
        (0x41B3DE4355555557, "333333333.33333343"),
        (0xBECBF647612F3696, "-0.0000033333333333333333"),
        (0x43143FF3C1CB0959, "1424953923781206.2"),
    ],
)
def test_rfc8785_number_vectors(bits: int, expected: str) -> None:
    assert canonicalize(_double(bits)) == expected.encode()
    assert canonicalize([_double(bits)]) == f"[{expected}]".encode()


@pytest.mark.parametrize(
    ("number", "expected"),
    [(1e21, "1e+21"), (1e20, "100000000000000000000"), (-0.0, "0"), (5e-324, "5e-324"),
     (1e-7, "1e-7"), (100.0, "100"), (26.5, "26.5"), (0.1, "0.1")],
)  # fmt: skip
def test_number_forms_follow_ecmascript(number: float, expected: str) -> None:
    assert canonicalize(number) == expected.encode()


@pytest.mark.parametrize("bits", [0x7FFFFFFFFFFFFFFF, 0x7FF0000000000000, 0xFFF0000000000000])
def test_nan_and_infinity_have_no_canonical_form(bits: int) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize({"value": _double(bits)})


def test_rfc8785_section_3_2_2_example() -> None:
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        '"literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(json.loads(text)) == expected.encode("utf-8")


def test_keys_are_ordered_by_utf16_code_units() -> None:
    # RFC 8785 §3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33.
    value = {
        "\u20ac": "Euro",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonicalize(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_strings_escape_only_controls_quote_and_backslash() -> None:
    assert canonicalize('a\u0000\u001f\b\t\n\f\r"\\/\u007fé😀') == (
        '"a\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\/\u007fé😀"'.encode()
    )


@pytest.mark.parametrize(
    "value",
    [2**53 + 1, -(2**60) - 1, 10**400, {"s": "\ud800"}, {"\udfff": 1}, {1: "a"}, [float("nan")]],
    ids=[
        "2**53+1",
        "-2**60-1",
        "10**400",
        "lone surrogate value",
        "lone surrogate key",
        "int key",
        "nan",
    ],
)
def test_values_without_canonical_form_raise_a_ledger_error(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize(value)
    assert issubclass(CanonicalizationError, LedgerError)


@pytest.mark.parametrize(
    ("integer", "expected"),
    [(2**53, "9007199254740992"), (-(2**60), "-1152921504606847000"), (10**21, "1e+21"),
     (10**20, "100000000000000000000"), (24724160436771370, "24724160436771370")],
)  # fmt: skip
def test_large_integers_a_double_holds_are_written_as_that_double(
    integer: int, expected: str
) -> None:
    assert canonicalize(integer) == expected.encode()
    assert canonicalize(float(integer)) == expected.encode()


@given(json_values)
def test_same_bytes_as_the_rfc8785_package(value: Any) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)


def _as_doubles(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_doubles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_doubles(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


@given(json_values)
def test_canonical_json_parses_back_to_the_same_doubles(value: Any) -> None:
    assert _as_doubles(json.loads(canonicalize(value))) == _as_doubles(value)


@given(st.dictionaries(st.text(), json_values, min_size=2, max_size=8), st.randoms())
def test_key_insertion_order_does_not_matter(value: dict[str, Any], rnd: random.Random) -> None:
    items = list(value.items())
    rnd.shuffle(items)
    assert canonicalize(dict(items)) == canonicalize(value)


@given(json_values)
def test_canonicalisation_is_idempotent(value: Any) -> None:
    once = canonicalize(value)
    assert canonicalize(json.loads(once)) == once


def test_tuples_and_subclasses_take_the_reference_path() -> None:
    class Step(int):
        pass

    assert canonicalize({"b": (1, 2), "a": Step(3)}) == b'{"a":3,"b":[1,2]}'


def test_event_payload_attaches_the_document_context() -> None:
    event = {"type": "ObjectEvent", "action": "OBSERVE"}
    payload = event_payload(event, context=CONTEXT)
    assert json.loads(payload) == {"@context": CONTEXT, **event}
    assert payload.startswith(b'{"@context":["https://ref.gs1.org/')
    assert event == {"type": "ObjectEvent", "action": "OBSERVE"}


def test_event_payload_keeps_the_events_own_context() -> None:
    event = {"@context": "https://example.com/ctx", "type": "ObjectEvent"}
    assert json.loads(event_payload(event, context=CONTEXT))["@context"] == event["@context"]


def test_self_describing_returns_a_new_dict() -> None:
    event = {"@context": CONTEXT, "type": "ObjectEvent"}
    copy_ = self_describing(event, context=["other"])
    assert copy_ == event and copy_ is not event


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_event_hash_is_keccak_of_the_payload(event: dict[str, Any]) -> None:
    before = copy.deepcopy(event)
    payload = event_payload(event, context=CONTEXT)
    assert event_hash(payload) == keccak(payload)
    assert len(event_hash(payload)) == 32
    assert event == before


def test_event_hash_known_vector() -> None:
    assert event_hash(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


def test_values_nested_deeper_than_64_levels_have_no_canonical_form():
    assert canonicalize(json.loads("[" * 64 + "]" * 64)) == b"[" * 64 + b"]" * 64
    deep: object = {}
    for _ in range(100_000):
        deep = {"k": [deep]}
    for value in (json.loads("[" * 65 + "]" * 65), deep):
        with pytest.raises(CanonicalizationError, match="nested deeper than 64 levels"):
            canonicalize(value)
