"""Canonical bytes of EPCIS events: RFC 8785 (JCS) JSON and its keccak256.

The payload anchored on chain is `event_payload(event, context=...)`; the contract
emits `keccak256(payload)`, which `event_hash` recomputes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any

import rfc8785

from ledger_client.errors import LedgerError
from ledger_client.hashing import keccak256
from ledger_client.json_input import MAX_DEPTH

JsonLdContext = str | Mapping[str, Any] | list[Any]
"""A JSON-LD `@context` value: a URI, an object, or an array of them."""

_MAX_SAFE_INTEGER = 2**53 - 1
# The C string encoder escapes exactly what RFC 8785 §3.2.2.2 escapes, in the same way.
_quote: Callable[[str], str] = encode_basestring


class CanonicalizationError(LedgerError):
    """The value has no RFC 8785 form: NaN or infinity, an integer a double would round
    (e.g. 2**53 + 1), a lone surrogate, or an object key that is not a string; or it is
    nested deeper than `json_input.MAX_DEPTH` levels, which this system does not accept."""


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 (JSON Canonicalization Scheme) UTF-8 bytes of a JSON value.

    Byte-for-byte what `rfc8785.dumps` gives; plain dict / list / str / int trees take
    a faster path, floats and any other type go through `rfc8785` itself. Unlike
    `rfc8785`, integers beyond ±(2**53 - 1) are accepted when a double holds them
    exactly (10**21 -> 1e+21) or they are already canonical digits, so canonical bytes
    parsed back with `json.loads` canonicalise to the same bytes.

    Raises:
        CanonicalizationError: the value cannot be canonicalised (see the class).
    """
    parts: list[str] = []
    _encode(value, parts.append, 0)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalizationError("a string holds a lone surrogate, which is not UTF-8") from None


def event_hash(payload: bytes) -> bytes:
    """keccak256 of an anchored payload (32 bytes), as the ledger contract emits it."""
    return keccak256(payload)


def self_describing(event: Mapping[str, Any], *, context: JsonLdContext) -> dict[str, Any]:
    """`event` with `@context` set to `context` unless it has its own (a new dict)."""
    if "@context" in event:
        return dict(event)
    return {"@context": context, **event}


def event_payload(event: Mapping[str, Any], *, context: JsonLdContext) -> bytes:
    """The bytes anchored for one event: canonical JSON of the event, self-describing.

    `context` is the enclosing document's `@context`; it is attached when the event has
    none, so the payload can be read back alone.
    """
    return canonicalize(self_describing(event, context=context))


def _encode(value: Any, out: Callable[[str], None], depth: int) -> None:
    # Exact type checks: subclasses (OrderedDict, IntEnum, ...) go to rfc8785 below.
    kind = type(value)
    if kind is str:
        out(_quote(value))
    elif kind is dict:
        _encode_object(value, out, depth + 1)
    elif kind is list:
        _check_depth(depth + 1)
        if not value:
            out("[]")
            return
        out("[")
        first = True
        for element in value:
            if first:
                first = False
            else:
                out(",")
            _encode(element, out, depth + 1)
        out("]")
    elif value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif kind is int:
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            out(str(value))
        else:
            _encode_large_integer(value, out)
    else:
        # Floats need ECMAScript number formatting; rfc8785 is the reference for it.
        try:
            out(rfc8785.dumps(value).decode("utf-8"))
        except rfc8785.CanonicalizationError as error:
            raise CanonicalizationError(str(error)) from None


def _encode_large_integer(value: int, out: Callable[[str], None]) -> None:
    # RFC 8785 numbers are doubles. A large integer is kept when that loses nothing: a
    # double equals it, or its digits already are a double's canonical digits, as when
    # json.loads reads back a canonical 1e+20 or 24724160436771370. rfc8785 refuses all.
    try:
        double = float(value)
    except OverflowError:
        raise CanonicalizationError(
            f"a {value.bit_length()}-bit integer is beyond the range of IEEE 754 doubles"
        ) from None
    text = rfc8785.dumps(double).decode("utf-8")
    if int(double) != value and text != str(value):
        raise CanonicalizationError(
            f"integer {value} is not exactly an IEEE 754 double; send it as a string"
        )
    out(text)


def _check_depth(depth: int) -> None:
    # Explicit, so deep input is refused the same way whatever the recursion limit.
    if depth > MAX_DEPTH:
        raise CanonicalizationError(
            f"the value is nested deeper than {MAX_DEPTH} levels of arrays and objects"
        )


def _encode_object(value: dict[Any, Any], out: Callable[[str], None], depth: int) -> None:
    _check_depth(depth)
    if not value:
        out("{}")
        return
    keys = list(value)
    try:
        ascii_keys = "".join(keys).isascii()
    except TypeError:
        raise CanonicalizationError("object keys must be strings") from None
    # RFC 8785 orders keys by UTF-16 code units; for ASCII that is plain string order.
    keys.sort(key=None if ascii_keys else _utf16)
    out("{")
    first = True
    for key in keys:
        if first:
            first = False
        else:
            out(",")
        out(_quote(key))
        out(":")
        _encode(value[key], out, depth)
    out("}")


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")
