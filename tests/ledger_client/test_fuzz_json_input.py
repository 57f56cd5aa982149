"""Fuzz `ledger_client.json_input`: a value or `InvalidJson`, nesting bounded whatever the
recursion limit, and nothing refused for depth that is not too deep."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given

from ledger_client.json_input import MAX_DEPTH, InvalidJson, check_depth, loads
from tests.hostile_json import fuzz, hostile_texts

pytestmark = pytest.mark.unit

# Frames the parse itself may use above the nesting (loads, the decoder, the key hook).
PARSE_FRAMES = 20


def _frames() -> int:
    frame, count = sys._getframe(), 0
    while frame.f_back is not None:
        frame, count = frame.f_back, count + 1
    return count


def _leniently_parsed(data: bytes) -> object:
    """What plain `json.loads` makes of `data` under the default recursion limit, or
    `ValueError` if it refuses it."""
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        return ValueError(exc)


@fuzz
@given(hostile_texts())
def test_text_is_read_or_refused_clearly_within_a_tight_recursion_limit(data: bytes):
    # The C scanner counts each level against the recursion limit: a limit just above
    # MAX_DEPTH shows that the explicit bound, not the interpreter's, stops deep input.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_frames() + MAX_DEPTH + PARSE_FRAMES)
    try:
        value = loads(data)
    except InvalidJson as exc:
        refusal = str(exc)
    else:
        refusal = None
    finally:
        sys.setrecursionlimit(limit)
    lenient = _leniently_parsed(data)
    if refusal is None:
        assert value == lenient
        check_depth(value)
    elif "nested deeper" in refusal and not isinstance(lenient, ValueError):
        with pytest.raises(InvalidJson):
            check_depth(lenient)  # refused for depth only when it is that deep
