"""A GS1 Digital Link resolver request read by the URI syntax's rules (Digital Link URI
syntax 1.4, resolver standard 1.2): what the scanned URI names, its data attributes, and
the link type asked for, or what is wrong with it.

Pure: the route hands in the raw (still percent-encoded) path and the decoded query pairs.
Only the GTIN key (`01`) is resolved here; another GS1 key is well-formed but not ours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_application_identifiers import ParseError as UnknownAi

from ledger_client.epcis.gs1_keys import PRIMARY_KEYS, SHORT_NAMES
from ledger_client.identifiers import (
    DigitalLink,
    InvalidIdentifier,
    decode_value,
    encode_value,
    gtin_check_digit,
)

GTIN = "01"
# The key qualifiers of a GTIN in the path, in the only order allowed; 235 stands alone.
QUALIFIER_ORDER = ("22", "10", "21")
THIRD_PARTY_SERIAL = "235"
KEY_QUALIFIERS = frozenset({*QUALIFIER_ORDER, THIRD_PARTY_SERIAL, "254", "8011"})
LINK_TYPE = "linkType"
_QUALIFIER_NAMES = {
    "22": "consumer product variant",
    "10": "lot",
    "21": "serial",
    "235": "third-party serial",
}
_ZERO_SUPPRESSED = (8, 12, 13)


class ResolverSyntaxError(ValueError):
    """The request is not a valid GS1 Digital Link URI; the message says what is wrong."""


class ZeroSuppressedGtin(ResolverSyntaxError):
    """A GTIN-8, -12 or -13 written as such: not the current syntax, which has 14 digits.
    `canonical_path` is the same URI in the current syntax (for a permanent redirect)."""

    def __init__(self, message: str, canonical_path: str) -> None:
        super().__init__(message)
        self.canonical_path = canonical_path


class UnsupportedKey(ResolverSyntaxError):
    """A well-formed URI of a GS1 key this resolver does not serve (only GTINs)."""


@dataclass(frozen=True)
class ResolverRequest:
    """What a scanned Digital Link names: a GTIN with its key qualifiers (path order, values
    decoded), its data attributes (query-string AIs) and the link type asked for."""

    gtin: str
    qualifiers: tuple[tuple[str, str], ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    link_type: str | None = None

    @property
    def lot(self) -> str | None:
        return dict(self.qualifiers).get("10")

    @property
    def serial(self) -> str | None:
        return dict(self.qualifiers).get("21")

    @property
    def identifier(self) -> DigitalLink | None:
        """The serialized item (when a serial is given) or else the lot it names, if any;
        the finest level of identification, which is what the ledger records."""
        if self.serial is not None:
            return DigitalLink.item(self.gtin, self.serial)
        if self.lot is not None:
            return DigitalLink.lot(self.gtin, self.lot)
        return None

    @property
    def product_path(self) -> str:
        return f"/{GTIN}/{self.gtin}"


def parse_request(raw_path: str, query: Sequence[tuple[str, str]]) -> ResolverRequest:
    """Read a resolver request: `raw_path` as sent (percent-encoded, one trailing slash
    tolerated), `query` the decoded query-string pairs in order.

    Raises:
        ZeroSuppressedGtin: a GTIN-8/12/13; carries the 14-digit form's path.
        UnsupportedKey: another GS1 primary key.
        ResolverSyntaxError: anything else wrong, said in words.
    """
    path = raw_path[:-1] if raw_path.endswith("/") and raw_path != "/" else raw_path
    segments = path.split("/")[1:]
    if not path.startswith("/") or len(segments) % 2 or not segments[0]:
        raise ResolverSyntaxError(
            f"{raw_path!r} is not a Digital Link path: expected /01/{{gtin}} followed by "
            "key qualifiers such as /10/{lot} or /21/{serial}"
        )
    pairs = [(_ai(segments[i]), segments[i + 1]) for i in range(0, len(segments), 2)]
    key_ai, key = pairs[0]
    if key_ai != GTIN:
        if key_ai in PRIMARY_KEYS:
            raise UnsupportedKey(f"this resolver serves GTINs (AI 01) only, not AI {key_ai} keys")
        raise ResolverSyntaxError(
            f"{raw_path!r} does not start with a GS1 primary key; expected /01/{{gtin}}"
        )
    qualifiers = tuple((ai, _path_value(ai, value)) for ai, value in pairs[1:])
    _check_qualifier_order(qualifiers)
    gtin = _gtin(key, qualifiers)
    attributes, link_type = _query(query)
    return ResolverRequest(gtin, qualifiers, attributes, link_type)


def _ai(segment: str) -> str:
    """An AI of the path, by number or by a Digital Link 1.0 short name (`gtin`, `lot`)."""
    return SHORT_NAMES.get(segment, segment)


def _gtin(key: str, qualifiers: tuple[tuple[str, str], ...]) -> str:
    gtin = decode_value(key, name="GTIN") if "%" in key else key
    if not gtin.isascii() or not gtin.isdigit():
        raise ResolverSyntaxError(f"GTIN {gtin!r} must contain digits only")
    if len(gtin) in _ZERO_SUPPRESSED:
        wide = gtin.zfill(14)
        _check_digit(wide)
        path = f"/{GTIN}/{wide}" + "".join(
            f"/{ai}/{encode_value(value)}" for ai, value in qualifiers
        )
        raise ZeroSuppressedGtin(
            f"GTIN {gtin} has {len(gtin)} digits; the current Digital Link syntax writes "
            f"every GTIN with 14: {path}",
            path,
        )
    if len(gtin) != 14:
        raise ResolverSyntaxError(f"GTIN {gtin} has {len(gtin)} digits; a GTIN has 14")
    _check_digit(gtin)
    return gtin


def _check_digit(gtin: str) -> None:
    expected = gtin_check_digit(gtin[:-1])
    if int(gtin[-1]) != expected:
        raise ResolverSyntaxError(
            f"GTIN check digit is {gtin[-1]}, expected {expected} (in {gtin})"
        )


def _path_value(ai: str, encoded: str) -> str:
    if ai not in _QUALIFIER_NAMES:
        raise ResolverSyntaxError(
            f"AI {ai} is not a key qualifier of a GTIN; the path takes "
            "/22/{variant}, /10/{lot}, /21/{serial} (in that order) or /235/{serial}"
        )
    name = _QUALIFIER_NAMES[ai]
    try:
        value = decode_value(encoded, name=name)
    except InvalidIdentifier as exc:
        raise ResolverSyntaxError(str(exc)) from None
    _check_ai_value(ai, value, name)
    return value


def _check_qualifier_order(qualifiers: tuple[tuple[str, str], ...]) -> None:
    ais = [ai for ai, _ in qualifiers]
    if THIRD_PARTY_SERIAL in ais:
        if ais != [THIRD_PARTY_SERIAL]:
            raise ResolverSyntaxError("AI 235 (third-party serial) stands alone after the GTIN")
        return
    positions = [QUALIFIER_ORDER.index(ai) for ai in ais]
    if len(set(positions)) != len(positions):
        raise ResolverSyntaxError(f"a key qualifier is repeated in the path ({'/'.join(ais)})")
    if positions != sorted(positions):
        raise ResolverSyntaxError(
            f"key qualifiers in the wrong order ({'/'.join(ais)}); the order is 22, 10, 21"
        )


def _query(query: Sequence[tuple[str, str]]) -> tuple[tuple[tuple[str, str], ...], str | None]:
    attributes: dict[str, str] = {}
    link_type = None
    for name, value in query:
        if name == LINK_TYPE:
            if link_type is not None:
                raise ResolverSyntaxError("linkType is given twice")
            link_type = value
            continue
        if not name.isascii() or not name.isdigit():
            continue  # Not an AI: the standard has resolvers ignore unknown parameters.
        if name in attributes:
            raise ResolverSyntaxError(f"AI {name} is given twice in the query string")
        if name in KEY_QUALIFIERS or name in PRIMARY_KEYS:
            raise ResolverSyntaxError(
                f"AI {name} is a key or key qualifier: it belongs in the path, not the query string"
            )
        _check_ai_value(name, value, f"AI {name}")
        attributes[name] = value
    return tuple(attributes.items()), link_type


def _check_ai_value(ai: str, value: str, name: str) -> None:
    """`value` as the GS1 General Specifications' format of `ai` asks (character set,
    length, dates), or a `ResolverSyntaxError` saying why not."""
    try:
        definition = GS1ApplicationIdentifier.extract(ai)
    except UnknownAi:
        definition = None
    if definition is None or definition.ai != ai:
        raise ResolverSyntaxError(f"AI {ai} is not a GS1 Application Identifier")
    if not _matches(definition, value):
        raise ResolverSyntaxError(
            f"{name} {value!r} does not have the format of AI {ai} ({definition.format}: "
            f"{definition.description})"
        )


@cache
def _pattern(ai: str, pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _matches(definition: GS1ApplicationIdentifier, value: str) -> bool:
    # biip's patterns match the element string: the AI, then its value.
    return _pattern(definition.ai, definition.pattern).fullmatch(definition.ai + value) is not None
