"""EPC URNs of the GS1 schemes (Tag Data Standard 2.0 §6.3, §8) read into GS1 key parts.

A URN writes the company prefix and the rest of a key as separate fields, leaves out the
check digit, and for a GTIN, SSCC or GRAI moves the leading digit behind the prefix; the
company-prefix length is only known from where the first dot is. Each reader here puts the
digits back in GS1 order and adds the check digit, giving the parts of the key's Digital Link.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger_client.epcis.gs1_keys import with_check_digit
from ledger_client.identifiers import InvalidIdentifier, decode_value

KeyParts = tuple[str, str, str | None, str | None]
"""(key AI, key, qualifier AI or None, qualifier or None), as `Gs1Identifier` takes them."""

NON_GS1_SCHEMES = frozenset({"gid", "usdod", "adi", "bic", "imovn"})
"""EPC schemes of other issuing agencies (TDS 2.0 §6.3): valid EPCs without a GS1 key."""

_Reader = Callable[[list[str]], KeyParts]


class NotAGs1Epc(InvalidIdentifier):
    """A well-formed EPC of another agency's scheme, which has no GS1 Digital Link."""


def read_epc_urn(urn: str) -> KeyParts:
    """The GS1 key parts of a pure-identity, class (`lgtin`) or pattern (`idpat`) EPC URN.

    A pattern names one key only when its last field is `*` (e.g. all serials of a GTIN:
    `urn:epc:idpat:sgtin:0614141.107346.*` is the GTIN 10614141073464).

    Raises:
        NotAGs1Epc: the URN is of a non-GS1 scheme (`gid`, `usdod`, `adi`, `bic`, `imovn`).
        InvalidIdentifier: anything else that is not such a URN, saying what is wrong.
    """
    fields = urn.split(":", 4)
    if len(fields) != 5:
        raise InvalidIdentifier("an EPC URN is urn:epc:id|class|idpat:{scheme}:{fields}")
    space, scheme, body = fields[2].lower(), fields[3].lower(), fields[4]
    if space in ("tag", "raw"):
        raise InvalidIdentifier(
            f"urn:epc:{space} URNs encode a tag's memory; EPCIS names objects by "
            "pure-identity URNs (urn:epc:id:…)"
        )
    if space == "id" and scheme in NON_GS1_SCHEMES:
        raise NotAGs1Epc(f"{scheme} is an EPC scheme of another agency, without a GS1 key")
    if space == "class":
        if scheme != "lgtin":
            raise InvalidIdentifier(f"urn:epc:class:{scheme} is not an EPC class (only lgtin is)")
        return _lgtin(_split(body, 3))
    if space not in ("id", "idpat"):
        raise InvalidIdentifier(f"urn:epc:{space} is not urn:epc:id, class or idpat")
    if scheme not in _INSTANCES:
        raise InvalidIdentifier(f"{scheme!r} is not an EPC scheme of the Tag Data Standard 2.0")
    count, read_instance = _INSTANCES[scheme]
    parts = _split(body, count)
    if space == "idpat" and "*" in parts:
        return _read_pattern(scheme, parts)
    return read_instance(parts)


def _read_pattern(scheme: str, parts: list[str]) -> KeyParts:
    if parts.index("*") != len(parts) - 1 or scheme not in _CLASSES:
        raise InvalidIdentifier(
            "this pattern matches more than one GS1 key, so it has no Digital Link; only a "
            "pattern whose last field alone is * (e.g. every serial of one GTIN) has one"
        )
    return _CLASSES[scheme](parts[:-1])


def _split(body: str, count: int) -> list[str]:
    # The last field (a serial, lot or reference) may itself contain dots.
    parts = body.split(".", count - 1)
    if len(parts) != count:
        raise InvalidIdentifier(f"expected {count} dot-separated fields after the scheme")
    return parts


def _check_prefix(prefix: str) -> str:
    if not (prefix.isascii() and prefix.isdigit() and 6 <= len(prefix) <= 12):
        raise InvalidIdentifier(f"company prefix {prefix!r} must be 6 to 12 digits")
    return prefix


def _company_key(prefix: str, reference: str, total: int, what: str) -> str:
    """Company prefix + reference digits, checked to be `total` digits together."""
    _check_prefix(prefix)
    if reference and not (reference.isascii() and reference.isdigit()):
        raise InvalidIdentifier(f"{what} {reference!r} must contain digits only")
    if len(prefix) + len(reference) != total:
        raise InvalidIdentifier(
            f"company prefix ({len(prefix)} digits) and {what} ({len(reference)} digits) "
            f"must have {total} digits together"
        )
    return prefix + reference


def _gtin(prefix: str, indicator_and_reference: str) -> str:
    _company_key(prefix, indicator_and_reference, 13, "indicator + item reference")
    # EPC order is prefix.indicator+reference; the GTIN puts the indicator first.
    return with_check_digit(indicator_and_reference[0] + prefix + indicator_and_reference[1:])


def _checked_key(ai: str, digits: str) -> KeyParts:
    return ai, with_check_digit(digits), None, None


def _sgtin(parts: list[str]) -> KeyParts:
    return "01", _gtin(parts[0], parts[1]), "21", decode_value(parts[2], name="serial")


def _lgtin(parts: list[str]) -> KeyParts:
    return "01", _gtin(parts[0], parts[1]), "10", decode_value(parts[2], name="lot")


def _upui(parts: list[str]) -> KeyParts:
    return "01", _gtin(parts[0], parts[1]), "235", decode_value(parts[2], name="third-party serial")


def _itip_key(parts: list[str]) -> str:
    piece, total = parts[2], parts[3]
    for name, value in (("piece", piece), ("total", total)):
        if len(value) != 2 or not (value.isascii() and value.isdigit()):
            raise InvalidIdentifier(f"ITIP {name} {value!r} must be 2 digits")
    return _gtin(parts[0], parts[1]) + piece + total


def _itip(parts: list[str]) -> KeyParts:
    return "8006", _itip_key(parts), "21", decode_value(parts[4], name="serial")


def _sscc(parts: list[str]) -> KeyParts:
    prefix, reference = parts[0], parts[1]
    _company_key(prefix, reference, 17, "extension + serial reference")
    # As for the GTIN: the extension digit leads the SSCC.
    return "00", with_check_digit(reference[0] + prefix + reference[1:]), None, None


def _sgln(parts: list[str]) -> KeyParts:
    gln = with_check_digit(_company_key(parts[0], parts[1], 12, "location reference"))
    extension = decode_value(parts[2], name="GLN extension")
    # TDS: extension "0" stands for the GLN itself, without an extension.
    return ("414", gln, None, None) if extension == "0" else ("414", gln, "254", extension)


def _pgln(parts: list[str]) -> KeyParts:
    return _checked_key("417", _company_key(parts[0], parts[1], 12, "party reference"))


def _grai_key(parts: list[str]) -> str:
    return "0" + with_check_digit(_company_key(parts[0], parts[1], 12, "asset type"))


def _grai(parts: list[str]) -> KeyParts:
    return "8003", _grai_key(parts) + decode_value(parts[2], name="GRAI serial"), None, None


def _gdti_key(parts: list[str]) -> str:
    return with_check_digit(_company_key(parts[0], parts[1], 12, "document type"))


def _gdti(parts: list[str]) -> KeyParts:
    return "253", _gdti_key(parts) + decode_value(parts[2], name="GDTI serial"), None, None


def _sgcn_key(parts: list[str]) -> str:
    return with_check_digit(_company_key(parts[0], parts[1], 12, "coupon reference"))


def _sgcn(parts: list[str]) -> KeyParts:
    return "255", _sgcn_key(parts) + parts[2], None, None


def _prefixed_text(ai: str, name: str) -> _Reader:
    def read(parts: list[str]) -> KeyParts:
        return ai, _check_prefix(parts[0]) + decode_value(parts[1], name=name), None, None

    return read


def _cpid(parts: list[str]) -> str:
    return _check_prefix(parts[0]) + decode_value(parts[1], name="component / part reference")


def _cpi(parts: list[str]) -> KeyParts:
    return "8010", _cpid(parts), "8011", parts[2]


def _service(ai: str) -> _Reader:
    def read(parts: list[str]) -> KeyParts:
        return _checked_key(ai, _company_key(parts[0], parts[1], 17, "service reference"))

    return read


def _gsin(parts: list[str]) -> KeyParts:
    return _checked_key("402", _company_key(parts[0], parts[1], 16, "shipper reference"))


_INSTANCES: dict[str, tuple[int, _Reader]] = {
    "sgtin": (3, _sgtin),
    "sscc": (2, _sscc),
    "sgln": (3, _sgln),
    "grai": (3, _grai),
    "giai": (2, _prefixed_text("8004", "individual asset reference")),
    "gsrn": (2, _service("8018")),
    "gsrnp": (2, _service("8017")),
    "gdti": (3, _gdti),
    "cpi": (3, _cpi),
    "sgcn": (3, _sgcn),
    "ginc": (2, _prefixed_text("401", "consignment reference")),
    "gsin": (2, _gsin),
    "itip": (5, _itip),
    "upui": (3, _upui),
    "pgln": (2, _pgln),
}
"""Field count and reader of each GS1 scheme's pure-identity URN (TDS 2.0 §6.3)."""

_CLASSES: dict[str, Callable[[list[str]], KeyParts]] = {
    "sgtin": lambda parts: ("01", _gtin(parts[0], parts[1]), None, None),
    "upui": lambda parts: ("01", _gtin(parts[0], parts[1]), None, None),
    "itip": lambda parts: ("8006", _itip_key([*parts, ""]), None, None),
    "grai": lambda parts: ("8003", _grai_key(parts), None, None),
    "gdti": lambda parts: ("253", _gdti_key(parts), None, None),
    "sgcn": lambda parts: ("255", _sgcn_key(parts), None, None),
    "cpi": lambda parts: ("8010", _cpid(parts), None, None),
}
"""Readers of the patterns whose last field is `*`: the key without its serial (TDS 2.0 §8)."""
