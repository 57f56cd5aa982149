"""GS1 keys and key qualifiers by Application Identifier: formats, check digits, kinds.

The rules a canonical Digital Link's values obey (GS1 General Specifications §3, the
Digital Link URI syntax's key qualifier paths), so that a `Gs1Identifier` is only ever built
from values a GS1 resolver would accept, whichever form they were read from.
"""

from __future__ import annotations

from typing import Literal

from ledger_client.identifiers import CSET_82, InvalidIdentifier, gtin_check_digit

Gs1Kind = Literal[
    "item", "lot", "product", "logistic_unit", "asset", "asset_type", "location", "party",
    "document", "document_type", "component", "component_type", "coupon", "consignment",
    "shipment", "service_relation",
]  # fmt: skip
"""What a GS1 identifier names."""

# GS1 General Specifications, AI encodable character set 39 (component / part identifiers).
CSET_39 = frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

PRIMARY_KEYS = frozenset(
    {"00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010"}
    | {"8017", "8018"}
)
"""The AIs of the GS1 keys an EPCIS identifier can carry (TDS 2.0 §6.3, CBV 2.0 §8.9)."""

PATH_QUALIFIERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "01": (("22", "10", "21"), ("235",)),
    "8006": (("22", "10", "21"),),
    "414": (("254",),),
    "8010": (("8011",),),
}
"""Key qualifiers a Digital Link path may carry after each key: each tuple is one allowed
sequence, in order, every member optional (GS1 Digital Link URI syntax 1.2, §4.5)."""

QUALIFIERS_OF: dict[str, frozenset[str]] = {key: frozenset() for key in PRIMARY_KEYS} | {
    "01": frozenset({"10", "21", "235"}),
    "8006": frozenset({"10", "21"}),
    "414": frozenset({"254"}),
    "8010": frozenset({"8011"}),
}
"""The qualifier, at most one, each key keeps in the constrained canonical form."""

SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417",
    "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
    "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004", "cpv": "22",
    "lot": "10", "ser": "21", "glnx": "254",
}  # fmt: skip
"""The alphabetic AI names of Digital Link 1.0, still found in printed codes."""

_QUALIFIER_NAMES = {
    "10": "lot",
    "21": "serial",
    "22": "consumer product variant",
    "254": "GLN extension",
}

# (name, fixed digit count of the checked part) of the numeric keys.
_CHECKED = {
    "00": ("SSCC", 18),
    "01": ("GTIN", 14),
    "402": ("GSIN", 17),
    "414": ("GLN", 13),
    "417": ("party GLN", 13),
    "8017": ("GSRN-P", 18),
    "8018": ("GSRN", 18),
}


def kind_of(key_ai: str, key: str, qualifier_ai: str | None) -> Gs1Kind:
    """What a canonical identifier names."""
    if key_ai in ("01", "8006"):
        if qualifier_ai in ("21", "235"):
            return "item"
        return "lot" if qualifier_ai == "10" else "product"
    if key_ai == "8003":
        return "asset" if len(key) > 14 else "asset_type"
    if key_ai == "253":
        return "document" if len(key) > 13 else "document_type"
    if key_ai == "8010":
        return "component" if qualifier_ai == "8011" else "component_type"
    return _KIND_OF_KEY[key_ai]


_KIND_OF_KEY: dict[str, Gs1Kind] = {
    "00": "logistic_unit",
    "8004": "asset",
    "414": "location",
    "417": "party",
    "255": "coupon",
    "401": "consignment",
    "402": "shipment",
    "8017": "service_relation",
    "8018": "service_relation",
}


def with_check_digit(digits: str) -> str:
    """`digits` followed by their GS1 mod-10 check digit."""
    return digits + str(gtin_check_digit(digits))


def check_value(ai: str, value: str) -> None:
    """Check `value` against the format of AI `ai` (a key in canonical form: a GTIN as 14
    digits).

    Raises:
        InvalidIdentifier: saying which rule the value breaks.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier(f"AI {ai} value must be a string, got {type(value).__name__}")
    if ai in _CHECKED:
        name, length = _CHECKED[ai]
        _checked_digits(name, value, length)
    elif ai == "8006":
        _digits("ITIP", value, 18, 18)
        _checked_digits("ITIP's GTIN", value[:14], 14)
    elif ai == "8003":
        _digits("GRAI", value[:14], 14, 14)
        if value[0] != "0":
            raise InvalidIdentifier(f"GRAI {value!r} must start with 0 (AI 8003 pads it)")
        _checked_digits("GRAI", value[1:14], 13)
        _characters("GRAI serial", value[14:], CSET_82, 0, 16)
    elif ai == "253":
        _checked_digits("GDTI", value[:13], 13)
        _characters("GDTI serial", value[13:], CSET_82, 0, 17)
    elif ai == "255":
        _checked_digits("GCN", value[:13], 13)
        _digits("GCN serial", value[13:], 0, 12)
    elif ai in ("401", "8004"):
        _characters("GINC" if ai == "401" else "GIAI", value, CSET_82, 1, 30)
    elif ai == "8010":
        _characters("CPID", value, CSET_39, 1, 30)
    elif ai == "8011":
        _digits("CPID serial", value, 1, 12)
    elif ai in ("10", "21", "22", "254"):
        _characters(_QUALIFIER_NAMES[ai], value, CSET_82, 1, 20)
    elif ai == "235":
        _characters("third-party serial (TPX)", value, CSET_82, 1, 28)
    else:
        raise InvalidIdentifier(f"AI {ai} is not a GS1 key or key qualifier this ledger reads")


def _digits(name: str, value: str, shortest: int, longest: int) -> None:
    if value and not (value.isascii() and value.isdigit()):
        raise InvalidIdentifier(f"{name} {value!r} must contain digits only")
    if not shortest <= len(value) <= longest:
        wanted = str(longest) if shortest == longest else f"{shortest} to {longest}"
        raise InvalidIdentifier(f"{name} {value!r} has {len(value)} digits; it needs {wanted}")


def _checked_digits(name: str, value: str, length: int) -> None:
    _digits(name, value, length, length)
    expected = gtin_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise InvalidIdentifier(
            f"{name} check digit is {value[-1]}, expected {expected} (in {value})"
        )


def _characters(
    name: str, value: str, allowed: frozenset[str], shortest: int, longest: int
) -> None:
    if not shortest <= len(value) <= longest:
        raise InvalidIdentifier(
            f"{name} {value!r} has {len(value)} characters; it needs {shortest} to {longest}"
        )
    for char in value:
        if char not in allowed:
            charset = "39" if allowed is CSET_39 else "82"
            raise InvalidIdentifier(
                f"{name} {value!r} contains {char!r}, which is not in GS1 character set {charset}"
            )
