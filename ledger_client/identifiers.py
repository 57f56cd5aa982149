"""GS1 Digital Link identifiers of lots and serialized items (DESIGN §3).

A lot is `https://id.gs1.org/01/{gtin14}/10/{lot}`, a serialized item
`https://id.gs1.org/01/{gtin14}/21/{serial}`. `DigitalLink.parse` reads that URI (on
any host), the bare path the scan route receives (`/01/{gtin}/10/{lot}`) and the GS1
EPC URNs EPCIS events carry (`urn:epc:class:lgtin:...`, `urn:epc:id:sgtin:...`);
every form yields the same canonical `DigitalLink`, whose `batch_id` is the on-chain id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal
from urllib.parse import unquote_to_bytes

from ledger_client.errors import LedgerError
from ledger_client.hashing import keccak256

IdentifierKind = Literal["lot", "item"]

GS1_RESOLVER = "https://id.gs1.org"
MAX_VALUE_LENGTH = 20
MAX_TEXT_LENGTH = 1_024
"""Longest text `DigitalLink.parse` reads (a valid one has under 350 characters)."""

# GS1 General Specifications, AI encodable character set 82.
CSET_82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
# GS1 Digital Link 1.x grammar: in a path value, every CSET 82 character except
# letters, digits and "-", ".", "_" is written percent-encoded (uppercase hex).
_MUST_ENCODE = frozenset("!\"%&'()*+,/:;<=>?")

_AI_OF_KIND: dict[str, str] = {"lot": "10", "item": "21"}
_KIND_OF_AI: dict[str, IdentifierKind] = {"10": "lot", "21": "item"}
_VALUE_NAME: dict[str, str] = {"lot": "lot", "item": "serial"}

_WEB_URI = re.compile(r"(?i:https?)://([^/?#]+)([^?]*)(\?.*)?", re.DOTALL)
_EPC_URN = re.compile(
    r"(?i:urn:epc:(?P<scheme>class:lgtin|id:sgtin):)"
    r"(?P<prefix>[0-9]+)\.(?P<reference>[0-9]+)\.(?P<value>.*)",
    re.DOTALL,
)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class InvalidIdentifier(LedgerError):
    """A GTIN, lot, serial, Digital Link URI or EPC URN is malformed; the message says how."""


def gtin_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of `digits` (a GTIN without its last digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return -total % 10


def normalize_gtin(gtin: str) -> str:
    """`gtin` (GTIN-8, -12, -13 or -14) as 14 digits, after checking its check digit.

    Raises:
        InvalidIdentifier: not digits, a length other than 8, 12, 13 or 14, or a wrong
            check digit.
    """
    if not isinstance(gtin, str) or not gtin.isascii() or not gtin.isdigit():
        raise InvalidIdentifier(f"GTIN {gtin!r} must contain digits only")
    if len(gtin) not in (8, 12, 13, 14):
        raise InvalidIdentifier(
            f"GTIN {gtin} has {len(gtin)} digits; a GTIN has 8, 12, 13 or 14 digits"
        )
    expected = gtin_check_digit(gtin[:-1])
    if int(gtin[-1]) != expected:
        raise InvalidIdentifier(f"GTIN check digit is {gtin[-1]}, expected {expected} (in {gtin})")
    return gtin.zfill(14)


def encode_value(value: str) -> str:
    """`value` percent-encoded as a Digital Link path value (canonical form)."""
    return "".join(f"%{ord(c):02X}" if c in _MUST_ENCODE else c for c in value)


def decode_value(encoded: str, *, name: str = "value") -> str:
    """Decode a percent-encoded Digital Link or EPC URI value (any character may be encoded).

    Raises:
        InvalidIdentifier: a "%" not followed by two hex digits, or bytes that are not UTF-8.
    """
    if _BAD_PERCENT.search(encoded):
        raise InvalidIdentifier(f"{name} {encoded!r} has a '%' not followed by two hex digits")
    try:
        return unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeError:  # bytes that are not UTF-8, or a lone surrogate in `encoded`
        raise InvalidIdentifier(f"{name} {encoded!r} does not decode to UTF-8 text") from None


def _check_value(value: str, name: str) -> None:
    if not isinstance(value, str):
        raise InvalidIdentifier(f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidIdentifier(f"{name} is empty; it needs 1 to {MAX_VALUE_LENGTH} characters")
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier(
            f"{name} {value!r} has {len(value)} characters; at most {MAX_VALUE_LENGTH} are allowed"
        )
    for char in value:
        if char not in CSET_82:
            raise InvalidIdentifier(
                f"{name} contains {char!r} which is not in GS1 character set 82"
            )


@dataclass(frozen=True)
class DigitalLink:
    """A lot or serialized item named by GTIN and lot / serial number.

    `gtin` is stored as 14 digits (shorter GTINs are zero-padded), `value` is the lot or
    serial number decoded (e.g. "A/1", never "A%2F1"). Construction validates both and
    raises `InvalidIdentifier`.
    """

    gtin: str
    kind: IdentifierKind
    value: str

    def __post_init__(self) -> None:
        if self.kind not in _AI_OF_KIND:
            raise InvalidIdentifier(f"kind must be 'lot' or 'item', got {self.kind!r}")
        # Frozen: normalising the GTIN here keeps equality and hashing canonical.
        object.__setattr__(self, "gtin", normalize_gtin(self.gtin))
        _check_value(self.value, _VALUE_NAME[self.kind])

    @classmethod
    def lot(cls, gtin: str, lot: str) -> DigitalLink:
        """The lot `lot` of product `gtin`."""
        return cls(gtin, "lot", lot)

    @classmethod
    def item(cls, gtin: str, serial: str) -> DigitalLink:
        """The serialized item `serial` of product `gtin`."""
        return cls(gtin, "item", serial)

    @classmethod
    def parse(cls, text: str) -> DigitalLink:
        """Read a Digital Link URI, a bare `/01/{gtin}/10|21/{value}` path, or an EPC URN.

        URIs may use any http(s) host and non-canonical percent-encoding; the result is
        canonical. EPC URNs (`urn:epc:class:lgtin:{prefix}.{ref}.{lot}`,
        `urn:epc:id:sgtin:{prefix}.{ref}.{serial}`) take the company-prefix length from
        the URN itself.

        Raises:
            InvalidIdentifier: with what is wrong, e.g. "GTIN check digit is 3, expected 7";
                text over `MAX_TEXT_LENGTH` characters is refused unread.
        """
        if not isinstance(text, str) or not text:
            raise InvalidIdentifier(f"expected a Digital Link URI, path or EPC URN, got {text!r}")
        if len(text) > MAX_TEXT_LENGTH:
            raise InvalidIdentifier(
                f"{text[:40]!r}… has {len(text)} characters; a Digital Link URI, path or EPC URN "
                f"has at most {MAX_TEXT_LENGTH}"
            )
        if text.startswith("/"):
            return cls._from_path(text, text)
        if text[:8].lower() == "urn:epc:":
            return cls._from_epc_urn(text)
        match = _WEB_URI.fullmatch(text)
        if match is None:
            raise InvalidIdentifier(
                f"{text!r} is not a GS1 Digital Link URI (https://id.gs1.org/01/{{gtin}}/10/{{lot}})"
            )
        if match.group(3) is not None:
            raise InvalidIdentifier(
                f"{text!r} has a query string; a lot or item URI has none "
                "(a '?' in a lot or serial is written %3F)"
            )
        return cls._from_path(match.group(2), text)

    @classmethod
    def _from_path(cls, path: str, text: str) -> DigitalLink:
        segments = path.split("/")
        if len(segments) != 5 or segments[1] != "01" or segments[3] not in _KIND_OF_AI:
            raise InvalidIdentifier(
                f"{text!r} does not have the path /01/{{gtin}}/10/{{lot}} "
                "or /01/{gtin}/21/{serial}"
            )
        kind = _KIND_OF_AI[segments[3]]
        value = decode_value(segments[4], name=_VALUE_NAME[kind])
        return cls(segments[2], kind, value)

    @classmethod
    def _from_epc_urn(cls, urn: str) -> DigitalLink:
        match = _EPC_URN.fullmatch(urn)
        if match is None:
            raise InvalidIdentifier(
                f"{urn!r} is not an LGTIN or SGTIN EPC URN (urn:epc:class:lgtin:"
                "{prefix}.{ref}.{lot} or urn:epc:id:sgtin:{prefix}.{ref}.{serial})"
            )
        prefix, reference = match["prefix"], match["reference"]
        if not 6 <= len(prefix) <= 12 or len(prefix) + len(reference) != 13:
            raise InvalidIdentifier(
                f"{urn!r}: company prefix ({len(prefix)} digits) and indicator + item reference "
                f"({len(reference)} digits) must be 6-12 digits and 13 digits together"
            )
        # EPC order is prefix.indicator+reference; the GTIN puts the indicator first.
        body = reference[0] + prefix + reference[1:]
        kind: IdentifierKind = "lot" if match["scheme"].lower() == "class:lgtin" else "item"
        value = decode_value(match["value"], name=_VALUE_NAME[kind])
        return cls(body + str(gtin_check_digit(body)), kind, value)

    @property
    def path(self) -> str:
        """`/01/{gtin14}/10/{lot}` or `/01/{gtin14}/21/{serial}`, value percent-encoded."""
        return f"/01/{self.gtin}/{_AI_OF_KIND[self.kind]}/{encode_value(self.value)}"

    @property
    def uri(self) -> str:
        """The canonical Digital Link URI on `https://id.gs1.org`."""
        return GS1_RESOLVER + self.path

    @property
    def product_uri(self) -> str:
        """`https://id.gs1.org/01/{gtin14}`: the product this lot or item belongs to."""
        return f"{GS1_RESOLVER}/01/{self.gtin}"

    @cached_property
    def batch_id(self) -> bytes:
        """The on-chain id: keccak256 of the canonical URI's bytes (32 bytes)."""
        return keccak256(self.uri.encode("ascii"))

    @cached_property
    def product_class(self) -> bytes:
        """keccak256 of `product_uri` (32 bytes): the key of the product's cold-chain rule
        (`parse_product_class` gives the same from the GTIN or the product's URI)."""
        return keccak256(self.product_uri.encode("ascii"))

    def __str__(self) -> str:
        return self.uri


def parse_batch_id(lot: str) -> bytes:
    """The on-chain batch id of a lot given as its Digital Link URI or as `0x` + 64 hex digits.

    Raises:
        InvalidIdentifier: neither form.
    """
    if lot.startswith("0x"):
        return _bytes32(lot, what="batch id")
    return DigitalLink.parse(lot).batch_id


def parse_product_class(product: str) -> bytes:
    """The product class (the key of a cold-chain rule) of a product given as its GTIN, its
    Digital Link URI `https://id.gs1.org/01/{gtin}` (any host), or `0x` + 64 hex digits.

    Raises:
        InvalidIdentifier: none of these forms, or a GTIN with a wrong check digit.
    """
    if product.startswith("0x"):
        return _bytes32(product, what="product class")
    if product.isascii() and product.isdigit():
        gtin = normalize_gtin(product)
    else:
        match = _WEB_URI.fullmatch(product) if len(product) <= MAX_TEXT_LENGTH else None
        segments = match.group(2).split("/") if match and match.group(3) is None else []
        if len(segments) != 3 or segments[1] != "01":
            raise InvalidIdentifier(
                f"{product[:80]!r} is not a GTIN, a product's Digital Link URI "
                "(https://id.gs1.org/01/{gtin}) or 0x and 64 hex digits"
            )
        gtin = normalize_gtin(segments[2])
    return keccak256(f"{GS1_RESOLVER}/01/{gtin}".encode("ascii"))


def parse_company_prefix(prefix: str) -> str:
    """`prefix` checked as a GS1 company prefix as the ledger takes it: 6 to 12 digits, its
    leading zeros significant ("0614141" and "614141" are two prefixes).

    Raises:
        InvalidIdentifier: anything else.
    """
    if not (prefix.isascii() and prefix.isdigit() and 6 <= len(prefix) <= 12):
        raise InvalidIdentifier(
            f"GS1 company prefix {prefix[:40]!r} must be 6 to 12 digits (e.g. 9506000)"
        )
    return prefix


def _bytes32(text: str, *, what: str) -> bytes:
    try:
        value = bytes.fromhex(text[2:])
    except ValueError:
        value = b""
    if len(value) != 32:
        raise InvalidIdentifier(f"{what} {text[:80]!r} is not 0x and 64 hex digits")
    return value
