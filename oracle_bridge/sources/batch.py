"""Batched ingress: a JSON array of signed readings, each item ingested as sent.

Items are split out of the body as their exact bytes (not parsed and re-serialised), so the
ingestor judges, and dead-letters, precisely what the sender wrote. The body's nesting is
measured before any item is parsed: items nest at most `json_input.MAX_DEPTH` deep.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ledger_client.json_input import MAX_DEPTH, InvalidJson, check_text_depth
from oracle_bridge.errors import MalformedBatch, TooManyReadings
from oracle_bridge.sources import IngestStatus, ReadingIngestor

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def split_json_array(body: bytes, *, max_items: int | None = None) -> list[bytes]:
    """The exact bytes of each element of the JSON array `body`.

    Splitting stops at the item that would make more than `max_items` (if given).

    Raises:
        MalformedBatch: `body` is not UTF-8 JSON, not an array, or nested too deep.
        TooManyReadings: the array has more than `max_items` elements.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBatch(f"the body is not UTF-8 text: {exc}") from None
    try:
        check_text_depth(body, max_depth=MAX_DEPTH + 1)
    except InvalidJson:
        raise MalformedBatch(
            f"the body's items nest deeper than {MAX_DEPTH} levels of arrays and objects; "
            "a signed reading is one flat object"
        ) from None
    position = _skip_whitespace(text, 0)
    if not text.startswith("[", position):
        raise MalformedBatch("the body must be a JSON array of signed readings")
    items: list[bytes] = []
    position = _skip_whitespace(text, position + 1)
    if text.startswith("]", position):
        return _finish(text, position, items)
    while True:
        if max_items is not None and len(items) == max_items:
            raise TooManyReadings(max_items)
        try:
            _, end = _DECODER.raw_decode(text, position)
        except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
            raise MalformedBatch(f"the body is not valid JSON: {exc}") from None
        items.append(text[position:end].encode("utf-8"))
        position = _skip_whitespace(text, end)
        if text.startswith("]", position):
            return _finish(text, position, items)
        if not text.startswith(",", position):
            raise MalformedBatch(f"the body is not valid JSON: expected ',' or ']' at {position}")
        position = _skip_whitespace(text, position + 1)


def _skip_whitespace(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _finish(text: str, closing: int, items: list[bytes]) -> list[bytes]:
    if _skip_whitespace(text, closing + 1) != len(text):
        raise MalformedBatch("the body is not valid JSON: data after the array")
    return items


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The outcome of the batch's item number `index` (0-based)."""

    index: int
    status: IngestStatus
    reason: str | None
    device: str | None
    seq: int | None


def ingest_batch(ingestor: ReadingIngestor, items: list[bytes], *, source: str) -> list[ItemResult]:
    """Hand the items to `ingestor` as one batch; one result per item, in order.

    Raises whatever `accept_many` raises: then nothing of the batch was stored, and a retry
    of the whole batch is the remedy.
    """
    return [
        ItemResult(index, outcome.status, outcome.reason, outcome.device, outcome.seq)
        for index, outcome in enumerate(ingestor.accept_many(items, source=source))
    ]
