"""JSON from outside the process, read with limits that hold whatever the recursion limit is.

`json.loads` recurses once per level of nesting, bounded only by the interpreter's
recursion limit, which a dependency once raised past what the C stack holds (see
`ledger_client/__init__.py`): 100,000 nested brackets then killed the process. `loads`
measures the nesting of the text with flat byte operations before anything recursive reads
it, and refuses what no honest sender writes: NaN and Infinity, numbers beyond a double or
over 4,300 digits, repeated keys, lone surrogates and NUL characters (text that cannot be
stored or re-encoded). Every refusal is an `InvalidJson`, which callers turn into their own
package's "malformed input" error.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ledger_client.errors import LedgerError

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted (the deepest document here has 8)."""
MAX_BYTES = 4 * 1024 * 1024
"""Largest JSON text `loads` reads by default."""

# Escaped backslashes and quotes go first, so that every quote left opens or closes a string.
_ESCAPED_BACKSLASH, _ESCAPED_QUOTE = b"\\\\", b'\\"'
# Only brackets and quotes are kept, and braces become brackets: nesting is nesting.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS_OR_QUOTES = bytes(sorted(set(range(256)) - set(b'[]{}"')))
# Only an escape can put NUL or a lone surrogate in a string of UTF-8 text.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")


class InvalidJson(LedgerError, ValueError):
    """Text from outside is not JSON, or is JSON this system refuses (see the module).

    A `ValueError` too, like `json.JSONDecodeError`, so code that caught that still does.
    """


class DuplicateKey(InvalidJson):
    """An object repeats `key` (which holds no NUL or lone surrogate)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} appears twice in one object")
        self.key = key


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """The JSON value of `text` (bytes must be UTF-8), within the limits.

    Raises:
        InvalidJson: not UTF-8 JSON, over `max_bytes`, nested deeper than `max_depth`, or
            holding NaN, Infinity, a number beyond a double or over 4,300 digits, a
            repeated key (`DuplicateKey`), a lone surrogate or NUL.
    """
    if isinstance(text, str):
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJson("it holds a lone surrogate, which is not Unicode text") from None
    else:
        data = text
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJson(f"it is not UTF-8 text: {exc}") from None
    if len(data) > max_bytes:
        raise InvalidJson(f"it has {len(data)} bytes; at most {max_bytes} are read")
    check_text_depth(data, max_depth=max_depth)
    try:
        value = _DECODER.decode(text)
    except InvalidJson:
        raise
    except json.JSONDecodeError as exc:
        raise InvalidJson(str(exc)) from None
    except ValueError as exc:  # an integer over the interpreter's 4,300-digit limit
        raise InvalidJson(f"a number is too long: {exc}") from None
    if _SUSPECT_ESCAPE.search(text):
        _check_strings(value)
    return value


def check_text_depth(data: bytes, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON text whose arrays and objects nest deeper than `max_depth`.

    Flat byte operations only (no recursion, a few passes over the bytes, about 1 ms a
    MiB); a text with at most `max_depth` brackets passes at once. Text that is not JSON
    may pass: the parser then refuses it, recursing no deeper than `max_depth`.

    Raises:
        InvalidJson: a parser of the text could nest deeper than `max_depth`.
    """
    if b"\\" in data:
        data = data.replace(_ESCAPED_BACKSLASH, b"").replace(_ESCAPED_QUOTE, b"")
    marks = data.translate(_BRACKETS, _NOT_BRACKETS_OR_QUOTES)
    if marks.count(b"[") <= max_depth:
        return
    # Strings without brackets vanish in pairs; only if a quote is left are strings cut out.
    marks = marks.replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    too_deep = f"it is nested deeper than {max_depth} levels of arrays and objects"
    if b"[" * (max_depth + 1) in marks:  # the common attack, found in one pass
        raise InvalidJson(too_deep)
    # Each pass removes the innermost level of every nest, so the passes count the depth.
    # What no pass can remove is `]]..[[..`: brackets never closed add to what is open.
    depth = 0
    while marks and depth <= max_depth:
        inner = marks.replace(b"[]", b"")
        if len(inner) == len(marks):
            depth += marks.count(b"[")
            break
        marks = inner
        depth += 1
    if depth > max_depth:
        raise InvalidJson(too_deep)


def check_depth(value: object, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a parsed JSON value (dicts, lists, scalars) nested deeper than `max_depth`.

    Iterative, for values that arrive already parsed (e.g. by a web framework).

    Raises:
        InvalidJson: `value` nests deeper than `max_depth`.
    """
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth == max_depth:
            raise InvalidJson(f"it is nested deeper than {max_depth} levels of arrays and objects")
        pending.extend((child, depth + 1) for child in children)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                _check_text(key)
                raise DuplicateKey(key)
            seen.add(key)
    return found


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidJson(f"the number {text[:40]} is beyond the range of a double")
    return number


def _refuse_constant(name: str) -> None:
    raise InvalidJson(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_float=_finite, parse_constant=_refuse_constant
)


def _check_strings(value: object) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            for key in item:
                _check_text(key)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _check_text(text: str) -> None:
    found = _UNSTORABLE_CHARACTER.search(text)
    if found is None:
        return
    if found.group() == "\x00":
        raise InvalidJson("a string holds NUL (\\u0000), which is not stored")
    raise InvalidJson(
        f"a string holds a lone surrogate (\\u{ord(found.group()):04x}), which is not Unicode text"
    )
