"""The HTTP body splitter: limits on what one body may hold, and refusals that say why."""

from __future__ import annotations

import pytest

from oracle_bridge.errors import MalformedBatch, TooManyReadings
from oracle_bridge.sources.batch import split_json_array

pytestmark = pytest.mark.unit


def test_an_integer_beyond_the_digit_limit_is_a_malformed_batch():
    with pytest.raises(MalformedBatch, match="not valid JSON"):
        split_json_array(b"[" + b"9" * 5_000 + b"]")


def test_at_most_max_items_are_split():
    assert split_json_array(b"[1, 2, 3]", max_items=3) == [b"1", b"2", b"3"]
    assert split_json_array(b"[]", max_items=0) == []


def test_one_item_too_many_is_refused_before_it_is_decoded():
    # The fourth item is not even JSON: the count refuses the body before it is read.
    with pytest.raises(TooManyReadings, match="at most 3 per request") as refused:
        split_json_array(b"[1, 2, 3, not json", max_items=3)
    assert refused.value.max_items == 3
    assert not isinstance(refused.value, MalformedBatch)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 100_000,
        b"[" + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"]",
    ],
    ids=["closed", "never-closed", "objects"],
)
def test_a_body_nested_100_000_deep_is_a_malformed_batch(body: bytes):
    with pytest.raises(MalformedBatch, match="nest deeper than 64 levels"):
        split_json_array(body)


def test_items_nested_64_deep_are_split_and_65_refused():
    item = b"[" * 64 + b"]" * 64
    assert split_json_array(b"[" + item + b"]") == [item]
    with pytest.raises(MalformedBatch):
        split_json_array(b"[[" + item + b"]]")


def test_brackets_inside_strings_are_not_nesting():
    item = b'"' + b"[" * 1_000 + b'\\"{"'
    assert split_json_array(b"[" + item + b"]") == [item]
