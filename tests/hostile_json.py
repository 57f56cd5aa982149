"""Hypothesis strategies for hostile JSON: what an attacker or a broken sender writes.

Cheap by construction (a deep nest is one repeated bracket, not a recursive strategy), so
thousands of examples run in seconds: arbitrary JSON values, nesting up to 100,000 deep,
huge numbers, NaN and Infinity, lone surrogates, NUL, long strings, invalid UTF-8,
duplicate keys and truncation, mixed into texts and values.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = 2_000

# Every fuzz test: at least 2,000 examples, no deadline (the shared machine is noisy); a
# 100,000-deep nest is large by design, hence the size and slowness health checks.
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DEEP = 100_000

# Characters including surrogates (category Cs) and NUL, which the default excludes.
characters = st.characters(codec=None, exclude_categories=())
texts = st.one_of(
    st.text(characters, max_size=12),
    st.sampled_from(["", "\x00", "\ud800", "\udfff", "\ud83d\ude00", "é", "[", "]", '"', "\\"]),
    st.integers(1_000, 100_000).map(lambda n: "x" * n),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    # Up to the 4,300 digits json.dumps writes; longer ones come as text tokens below.
    st.integers(4_000, 4_300).map(lambda n: 10**n - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)
    ),
    max_leaves=4,
)
depths = st.one_of(st.integers(0, 80), st.integers(0, 2_000), st.just(DEEP))


def nest(value: Any, depth: int, *, in_objects: bool) -> Any:
    """`value` inside `depth` arrays (or objects under key "k"), built without recursion."""
    for _ in range(depth):
        value = {"k": value} if in_objects else [value]
    return value


# Built once: a parser must not change its input, so one deep chain serves every example.
_DEEP_ARRAYS, _DEEP_OBJECTS = nest(0, DEEP, in_objects=False), nest(0, DEEP, in_objects=True)


def nested_text(inner: str, depth: int, *, in_objects: bool, closed: bool) -> str:
    """`inner` inside `depth` brackets as text; `closed=False` leaves them open."""
    opening, closing = ('{"k":', "}") if in_objects else ("[", "]")
    return opening * depth + inner + (closing * depth if closed else "")


@st.composite
def hostile_values(draw: st.DrawFn) -> Any:
    """A Python value as a lenient parser (json.loads, a web framework) could hand over."""
    value = draw(json_values)
    in_objects, depth = draw(st.booleans()), draw(depths)
    if depth == DEEP:
        deep = _DEEP_OBJECTS if in_objects else _DEEP_ARRAYS
        return draw(st.sampled_from([[value, deep], {"k": value, "deep": deep}, deep]))
    return nest(value, depth, in_objects=in_objects)


@st.composite
def hostile_texts(draw: st.DrawFn) -> bytes:
    """JSON-ish bytes: a serialised value, then nested, salted with hostile tokens,
    given a duplicate key, truncated or re-encoded as invalid UTF-8."""
    value = draw(json_values)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = nested_text(
            text,
            draw(depths),
            in_objects=draw(st.booleans()),
            closed=draw(st.booleans()),
        )
    for _ in range(draw(st.integers(0, 1))):
        token = draw(
            st.sampled_from(
                [
                    "NaN",
                    "-Infinity",
                    "1e999",
                    "9" * 5_000,
                    '"\\u0000"',
                    '"\\ud800"',
                    '"\\udc00\\ud800"',
                    '{"a":1,"a":2}',
                    '{"\\ud800":1,"\\ud800":2}',
                    '{"\\u0000":1,"\\u0000":2}',
                    '"\\',
                    "\\",
                    "[" * 70,
                    "]",
                    ",",
                    "\x00",
                ]
            )
        )
        at = draw(st.integers(0, len(text)))
        text = text[:at] + token + text[at:]
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(data)))
        data = (
            data[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]))
            + data[at:]
        )
    return data
