"""JSON from outside: nesting measured before parsing, and what no honest sender writes refused."""

from __future__ import annotations

import json

import pytest

from ledger_client.errors import LedgerError
from ledger_client.json_input import (
    MAX_DEPTH,
    DuplicateKey,
    InvalidJson,
    check_depth,
    check_text_depth,
    loads,
)

pytestmark = pytest.mark.unit


def nested(depth: int, *, opening: str = "[", closing: str = "]") -> str:
    return opening * depth + closing * depth


def test_a_document_is_read():
    text = '{"a": [1, 2.5, "é", null, true, {"b": "\\ud83d\\ude00"}]}'
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


def test_nesting_up_to_the_limit_is_read_and_one_level_more_refused():
    assert loads(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))
    with pytest.raises(InvalidJson, match=f"nested deeper than {MAX_DEPTH} levels"):
        loads(nested(MAX_DEPTH + 1))


@pytest.mark.parametrize(
    "text",
    [
        nested(100_000),
        "[" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '["]"' + ",[" * 100_000,
        # Strings that close brackets must not hide the real ones.
        '[[[["]]]]",' + nested(100_000) + ',"[[[["]]]]',
    ],
    ids=["arrays", "never-closed", "objects", "after-a-string", "strings-that-close"],
)
def test_deep_nesting_is_refused_before_parsing(text: str):
    with pytest.raises(InvalidJson, match="nested deeper"):
        loads(text)


def test_brackets_and_escapes_inside_strings_are_not_nesting():
    text = json.dumps(["[" * 200, "\\" * 3 + '"' + "{" * 200, {"k]": "}"}])
    assert loads(text) == json.loads(text)
    check_text_depth(text.encode(), max_depth=2)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("NaN", "NaN is not a JSON value"),
        ("[-Infinity]", "-Infinity is not a JSON value"),
        ("1e400", "beyond the range of a double"),
        ("9" * 5_000, "too long"),
        ('{"a": 1, "a": 2}', "'a' appears twice"),
        ('"\\u0000"', "NUL"),
        ('{"\\u0000": 1}', "NUL"),
        ('"\\ud800"', "lone surrogate"),
        ('{"\\udfff": 1, "\\udfff": 2}', "lone surrogate"),
        ("\ud800", "lone surrogate"),
        (b"\xff[]", "not UTF-8"),
        (b"\xed\xa0\x80", "not UTF-8"),
        ('{"a": ', "Expecting value"),
    ],
)
def test_what_no_honest_sender_writes_is_refused(text: str | bytes, problem: str):
    with pytest.raises(InvalidJson, match=problem) as refused:
        loads(text)
    assert isinstance(refused.value, LedgerError)
    assert isinstance(refused.value, ValueError)


def test_a_repeated_key_is_named():
    with pytest.raises(DuplicateKey) as refused:
        loads('{"seq": 1, "seq": 2}')
    assert refused.value.key == "seq"


def test_escaped_backslashes_before_u0000_are_not_nul():
    assert loads('"\\\\u0000"') == "\\u0000"


def test_text_over_the_size_limit_is_refused():
    with pytest.raises(InvalidJson, match="at most 10 are read"):
        loads("[" + "1," * 10 + "1]", max_bytes=10)


def test_parsed_values_nested_too_deep_are_refused_without_recursion():
    value: list[object] = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(InvalidJson, match="nested deeper"):
        check_depth(value)
    check_depth(json.loads(nested(MAX_DEPTH)))
    check_depth({"a": [1, {"b": "c"}]}, max_depth=3)
    with pytest.raises(InvalidJson):
        check_depth({"a": [1, {"b": []}]}, max_depth=3)
