"""Every GS1 identifier an EPCIS 2.0 event may name, read into one canonical Digital Link.

Events name lots and items as EPC URNs (`urn:epc:id:sgtin:…`, `urn:epc:class:lgtin:…`,
`urn:epc:idpat:sgtin:…`, `sscc`, `sgln`, `grai`, … of the Tag Data Standard 2.0) or as GS1
Digital Link URIs on any host. `parse_identifier` reads each into a `Gs1Identifier` whose
`uri` is the constrained canonical Digital Link of CBV 2.0 §8.9 (host `id.gs1.org`, AIs by
number, the finest level of identification only, no query string). So the URN and the Digital
Link of one lot compare equal and are filed under one on-chain id. For a lot or serialized item
of a GTIN that URI is exactly `DigitalLink`'s (DESIGN §3), values percent-encoded the same way.

A URN carries the company-prefix length as the position of its first dot; it is needed to put
the GTIN's digits back in order and to compute the check digit the URN leaves out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from ledger_client.epcis.epc_urns import NotAGs1Epc, read_epc_urn
from ledger_client.epcis.gs1_keys import (
    PATH_QUALIFIERS,
    PRIMARY_KEYS,
    QUALIFIERS_OF,
    SHORT_NAMES,
    Gs1Kind,
    check_value,
    kind_of,
)
from ledger_client.identifiers import (
    GS1_RESOLVER,
    MAX_TEXT_LENGTH,
    DigitalLink,
    InvalidIdentifier,
    decode_value,
    encode_value,
    normalize_gtin,
)

__all__ = [
    "Gs1Identifier",
    "Gs1Kind",
    "InvalidIdentifier",
    "NotGs1Identifier",
    "canonical_uri",
    "parse_identifier",
]


_WEB_URI = re.compile(r"(?i:https?)://([^/?#]*)([^?#]*)(?:\?[^#]*)?(?:#.*)?", re.DOTALL)
# Every GS1 key starts with a company prefix (after at most one extension digit): how a key
# segment in a web URI's path is told apart from an ordinary path that happens to say "01".
_KEY_START = re.compile(r"[0-9]{6}")


class NotGs1Identifier(InvalidIdentifier):
    """A well-formed URI that names nothing by a GS1 key (another agency's EPC, a plain web
    URI): it has no Digital Link form, and is compared as written."""


@dataclass(frozen=True)
class Gs1Identifier:
    """A GS1 key with at most one key qualifier, in the constrained canonical form.

    `key_ai` is the primary key's Application Identifier ("01" GTIN, "00" SSCC, "414" GLN,
    …), `key` its value (a GTIN always as 14 digits with its check digit); `qualifier_ai` /
    `qualifier` the one qualifier CBV 2.0 keeps ("21" serial, "10" lot, "235", "254", "8011"),
    or None. Construction checks every value against its AI's format and raises
    `InvalidIdentifier`; `parse_identifier` is the usual way to get one.
    """

    key_ai: str
    key: str
    qualifier_ai: str | None = None
    qualifier: str | None = None

    def __post_init__(self) -> None:
        if self.key_ai not in PRIMARY_KEYS:
            raise InvalidIdentifier(f"{self.key_ai!r} is not the AI of a GS1 primary key")
        if (self.qualifier_ai is None) != (self.qualifier is None):
            raise InvalidIdentifier("a key qualifier needs both its AI and its value")
        if self.qualifier_ai is not None and self.qualifier_ai not in QUALIFIERS_OF[self.key_ai]:
            raise InvalidIdentifier(
                f"AI {self.qualifier_ai} is not a key qualifier CBV 2.0 keeps for AI {self.key_ai}"
            )
        check_value(self.key_ai, self.key)
        if self.qualifier_ai is not None and self.qualifier is not None:
            check_value(self.qualifier_ai, self.qualifier)

    @property
    def uri(self) -> str:
        """The canonical Digital Link URI on `https://id.gs1.org`, values percent-encoded."""
        path = f"/{self.key_ai}/{_encode(self.key)}"
        if self.qualifier_ai is not None and self.qualifier is not None:
            path += f"/{self.qualifier_ai}/{_encode(self.qualifier)}"
        return GS1_RESOLVER + path

    @property
    def kind(self) -> Gs1Kind:
        """What the identifier names: an item, a lot, a product, a location, …"""
        return kind_of(self.key_ai, self.key, self.qualifier_ai)

    @cached_property
    def digital_link(self) -> DigitalLink | None:
        """The ledger's `DigitalLink` of a GTIN's lot or serialized item, else None."""
        if self.key_ai != "01" or self.qualifier is None:
            return None
        if self.qualifier_ai == "10":
            return DigitalLink.lot(self.key, self.qualifier)
        if self.qualifier_ai == "21":
            return DigitalLink.item(self.key, self.qualifier)
        return None

    def __str__(self) -> str:
        return self.uri


# A document names the same lots and items event after event; the results are immutable.
@lru_cache(maxsize=65_536)
def parse_identifier(text: str) -> Gs1Identifier:
    """Read an EPC URN or a GS1 Digital Link URI into its canonical `Gs1Identifier`.

    EPC pure-identity URNs of every GS1 scheme (`urn:epc:id:sgtin|sscc|sgln|grai|giai|gsrn|
    gsrnp|gdti|cpi|sgcn|ginc|gsin|itip|upui|pgln:…`), LGTIN class URNs, and ID patterns whose
    last field is `*` (`urn:epc:idpat:sgtin:…*` names the GTIN). Digital Link URIs on any
    http(s) host, with or without a path before the key, AIs by number or by their old short
    names (`gtin`, `lot`, `ser`, …), GTIN-8/12/13/14; the query string (data attributes) and
    a consumer product variant (AI 22) do not identify and are dropped, and a lot is dropped
    when a serial is present, as CBV 2.0 §8.9 constrains them.

    Raises:
        NotGs1Identifier: a URI that names nothing by a GS1 key (e.g. `urn:epc:id:gid:…`).
        InvalidIdentifier: a GS1 identifier that is malformed; the message names the text
            and says what is wrong (e.g. "GTIN check digit is 3, expected 2").
    """
    if not isinstance(text, str) or not text:
        raise InvalidIdentifier(f"expected an EPC URN or a Digital Link URI, got {text!r}")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidIdentifier(
            f"{text[:40]!r}… has {len(text)} characters; an identifier has at most "
            f"{MAX_TEXT_LENGTH}"
        )
    try:
        if text[:8].lower() == "urn:epc:":
            return Gs1Identifier(*read_epc_urn(text))
        match = _WEB_URI.fullmatch(text)
        segments = _key_segments(match.group(2)) if match else None
        if segments is None:
            raise NotGs1Identifier(
                f"{text!r} names nothing by a GS1 key: it is neither a GS1 EPC URN nor a "
                "Digital Link URI"
            )
        return _from_key_segments(segments)
    except NotAGs1Epc as error:
        raise NotGs1Identifier(f"{text!r}: {error}") from None
    except NotGs1Identifier:
        raise
    except InvalidIdentifier as error:
        raise InvalidIdentifier(f"{text!r} is not a valid GS1 identifier: {error}") from None


def canonical_uri(text: str) -> str:
    """The canonical Digital Link URI of a GS1 identifier; any other URI as written.

    Raises:
        InvalidIdentifier: a malformed GS1 identifier (see `parse_identifier`).
    """
    try:
        return parse_identifier(text).uri
    except NotGs1Identifier:
        return text


def _encode(value: str) -> str:
    # `encode_value` covers character set 82; a CPID may also hold "#" (set 39), which a URI
    # path must escape too.
    return encode_value(value).replace("#", "%23")


# --- Digital Link URIs (GS1 Digital Link URI syntax 1.2) ------------------------------------


def _key_segments(path: str) -> list[str] | None:
    """The path from its GS1 key on (`[01, gtin, 21, serial]`), or None for a path with none.

    A Digital Link may put any path before the key (`https://brand.example/p/01/…`); the key
    is the first AI segment whose value starts like a GS1 key and that pairs up to the end.
    """
    segments = path.split("/")[1:]
    if segments and segments[-1] == "":
        segments.pop()  # a trailing slash
    for start in range(0, len(segments) - 1):
        ai = SHORT_NAMES.get(segments[start], segments[start])
        if (
            ai in PRIMARY_KEYS
            and (len(segments) - start) % 2 == 0
            and _KEY_START.match(segments[start + 1])
        ):
            return segments[start:]
    return None


def _from_key_segments(segments: list[str]) -> Gs1Identifier:
    key_ai = SHORT_NAMES.get(segments[0], segments[0])
    key = decode_value(segments[1], name=f"AI {key_ai} value")
    if key_ai == "01":
        key = normalize_gtin(key)  # GTIN-8, -12 and -13 are written as GTIN-14
    qualifiers: dict[str, str] = {}
    allowed = PATH_QUALIFIERS.get(key_ai, ())
    for at in range(2, len(segments), 2):
        ai = SHORT_NAMES.get(segments[at], segments[at])
        if not any(ai in sequence for sequence in allowed):
            raise InvalidIdentifier(f"AI {ai} is not a key qualifier of AI {key_ai}")
        qualifiers[ai] = decode_value(segments[at + 1], name=f"AI {ai} value")
    if qualifiers and list(qualifiers) not in _in_order(allowed, set(qualifiers)):
        order = " or ".join("/".join(sequence) for sequence in allowed)
        raise InvalidIdentifier(f"the key qualifiers of AI {key_ai} go in the order {order}")
    for ai, value in qualifiers.items():
        check_value(ai, value)  # checked even where the constrained form drops them
    # CBV 2.0 §8.9: the finest level of identification only (a serial makes a lot redundant,
    # a product variant never identifies).
    kept = [ai for ai in qualifiers if ai in QUALIFIERS_OF[key_ai]]
    if "21" in kept:
        kept = ["21"]
    if not kept:
        return Gs1Identifier(key_ai, key)
    return Gs1Identifier(key_ai, key, kept[0], qualifiers[kept[0]])


def _in_order(allowed: tuple[tuple[str, ...], ...], present: set[str]) -> list[list[str]]:
    return [[ai for ai in sequence if ai in present] for sequence in allowed]
