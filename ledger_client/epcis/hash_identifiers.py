"""Identifiers as the CBV 2.0 event hash writes them: GS1's reference normaliser, ported.

The event hash id must be the one every other EPCIS system computes, so its identifier
rewriting is not `identifiers.parse_identifier` (which validates, and percent-encodes values
as the ledger's on-chain ids need) but a port of `dl_normaliser.py` of GS1's reference
implementation (github.com/RalphTro/epcis-event-hash-generator, MIT licence, © 2019-2023
Ralph Troeger): its patterns, the field offsets it reads, the few characters it escapes,
that it never checks a check digit it is given, and that anything it does not recognise is
left as written (None here).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ledger_client.identifiers import gtin_check_digit

# Character classes of the reference's patterns: an EPC URN serial character (raw or
# escaped), a CPI reference character, and a value character of its canonical URIs.
_S = r"(\%2[125-9A-Fa-f]|\%3[0-9A-Fa-f]|\%4[1-9A-Fa-f]|\%5[0-9AaFf]|\%6[1-9A-Fa-f]|\%7[0-9Aa]|[!\')(*+,.0-9:;=A-Za-z_-])"  # noqa: E501
_C = r"(\%2[3dfDF]|\%3[0-9]|\%4[1-9A-Fa-f]|\%5[0-9Aa]|[0-9A-Z-])"
_V = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"
_GS1 = "https://id.gs1.org/"
# What the reference writes after a 12-digit company prefix whose reference is empty: most
# schemes a bare dot, a few (its quirk, kept) a second dot too.
_DOT = r"\."


def _prefix_and(total: int, twelve: str | None = None, end: str = "") -> str:
    """ "company prefix.reference" of `total` digits, prefix 6-12 digits; `twelve` is the
    reference's own ending for a 12-digit prefix where it differs (e.g. an empty reference)."""
    parts = [rf"(\d{{{n}}}\.\d{{{total - n}}}{end})" for n in range(6, 12)]
    last = rf"\d{{{total - 12}}}" if twelve is None else twelve
    parts.append(rf"(\d{{12}}\.{last}{end})")
    return "(" + "|".join(parts) + ")"


def _prefix_and_text(char: str, longest: int) -> str:
    return "(" + "|".join(rf"(\d{{{n}}}\.{char}{{1,{longest - n}}})" for n in range(6, 13)) + ")"


def _check(digits: str) -> str:
    return digits + str(gtin_check_digit(digits))


def _escape(value: str) -> str:
    """The reference's percent-encoding: only these seven characters are escaped."""
    for char in "!()*+,:":
        value = value.replace(char, f"%{ord(char):02X}")
    return value


def _gtin(uri: str, start: int, dot: int) -> str:
    prefix = uri[start:dot]
    reference = uri[dot + 1 : dot + 1 + 13 - len(prefix)]
    return _check(reference[0:1] + prefix + reference[1:])


def _twelve(uri: str, start: int, dot: int) -> str:
    """Company prefix + the reference that makes it 12 digits (GLN, GRAI, GDTI, GCN)."""
    prefix = uri[start:dot]
    return prefix + uri[dot + 1 : dot + 1 + 12 - len(prefix)]


def _cpid(uri: str, start: int, dot: int) -> str:
    return uri[start:dot] + uri[dot + 1 : uri.rfind(".")]


def _sgln(uri: str, dot: int) -> str:
    extension = uri[30:]
    gln = f"{_GS1}414/{_check(_twelve(uri, 16, dot))}"
    return gln if extension == "0" else f"{gln}/254/{_escape(extension)}"


_URN_RULES: list[tuple[str, Callable[[str, int], str]]] = [
    (
        rf"urn:epc:id:sgtin:{_prefix_and(13)}\.{_S}{{1,20}}$",
        lambda u, d: f"{_GS1}01/{_gtin(u, 17, d)}/21/{_escape(u[32:])}",
    ),
    (
        rf"urn:epc:id:sscc:{_prefix_and(17, end='$')}",
        lambda u, d: f"{_GS1}00/{_check(u[d + 1 : d + 2] + u[16:d] + u[d + 2 :])}",
    ),
    (rf"urn:epc:id:sgln:{_prefix_and(12, '')}\.{_S}{{1,20}}$", _sgln),
    (
        rf"urn:epc:id:grai:{_prefix_and(12, _DOT)}\.{_S}{{1,16}}$",
        lambda u, d: f"{_GS1}8003/{_check('0' + _twelve(u, 16, d))}{_escape(u[30:])}",
    ),
    (
        rf"urn:epc:id:giai:{_prefix_and_text(_S, 30)}$",
        lambda u, d: f"{_GS1}8004/{u[16:d]}{_escape(u[d + 1 :])}",
    ),
    (
        rf"urn:epc:id:gsrn:{_prefix_and(17, end='$')}",
        lambda u, d: f"{_GS1}8018/{_check(u[16:d] + u[d + 1 :])}",
    ),
    (
        rf"urn:epc:id:gsrnp:{_prefix_and(17, end='$')}",
        lambda u, d: f"{_GS1}8017/{_check(u[17:d] + u[d + 1 :])}",
    ),
    (
        # No dot before the serial: the reference lets the serial pattern take it.
        rf"urn:epc:id:gdti:{_prefix_and(12, _DOT)}{_S}{{1,20}}$",
        lambda u, d: f"{_GS1}253/{_check(_twelve(u, 16, d))}{_escape(u[30:])}",
    ),
    (
        rf"urn:epc:id:cpi:{_prefix_and_text(_C, 30)}\.\d{{1,12}}$",
        lambda u, d: f"{_GS1}8010/{_escape(_cpid(u, 15, d))}/8011/{u[u.rfind('.') + 1 :]}",
    ),
    (
        rf"urn:epc:id:sgcn:{_prefix_and(12, '')}\.\d{{1,12}}$",
        lambda u, d: f"{_GS1}255/{_check(_twelve(u, 16, d))}{u[30:]}",
    ),
    (
        rf"urn:epc:id:ginc:{_prefix_and_text(_S, 30)}$",
        lambda u, d: f"{_GS1}401/{u[16:d]}{_escape(u[d + 1 :])}",
    ),
    (
        rf"urn:epc:id:gsin:{_prefix_and(16, end='$')}",
        lambda u, d: f"{_GS1}402/{_check(u[16:d] + u[d + 1 :])}",
    ),
    (
        rf"urn:epc:id:itip:{_prefix_and(13)}\.\d{{2}}\.\d{{2}}\.{_S}{{1,20}}$",
        lambda u, d: f"{_GS1}8006/{_gtin(u, 16, d)}{u[31:33]}{u[34:36]}/21/{_escape(u[37:])}",
    ),
    (
        rf"urn:epc:id:upui:{_prefix_and(13)}\.{_S}{{1,28}}$",
        lambda u, d: f"{_GS1}01/{_gtin(u, 16, d)}/235/{_escape(u[31:])}",
    ),
    (
        rf"urn:epc:id:pgln:{_prefix_and(12, '')}$",
        lambda u, d: f"{_GS1}417/{_check(_twelve(u, 16, d))}",
    ),
    (
        rf"urn:epc:class:lgtin:{_prefix_and(13)}\.{_S}{{1,20}}$",
        lambda u, d: f"{_GS1}01/{_gtin(u, 20, d)}/10/{_escape(u[35:])}",
    ),
    (rf"urn:epc:idpat:sgtin:{_prefix_and(13)}\.\*$", lambda u, d: f"{_GS1}01/{_gtin(u, 20, d)}"),
    (
        rf"urn:epc:idpat:grai:{_prefix_and(12, _DOT)}\.\*$",
        lambda u, d: f"{_GS1}8003/{_check('0' + _twelve(u, 19, d))}",
    ),
    (
        rf"urn:epc:idpat:gdti:{_prefix_and(12, _DOT)}\.\*$",
        lambda u, d: f"{_GS1}253/{_check(_twelve(u, 19, d))}",
    ),
    (
        rf"urn:epc:idpat:sgcn:{_prefix_and(12, _DOT)}\.\*$",
        lambda u, d: f"{_GS1}255/{_check(_twelve(u, 19, d))}",
    ),
    (
        rf"urn:epc:idpat:cpi:{_prefix_and_text(_C, 30)}\.\*$",
        lambda u, d: f"{_GS1}8010/{_escape(_cpid(u, 18, d))}",
    ),
    (
        rf"urn:epc:idpat:itip:{_prefix_and(13)}\.\d{{2}}\.\d{{2}}\.\*$",
        lambda u, d: f"{_GS1}8006/{_gtin(u, 19, d)}{u[34:36]}{u[37:39]}",
    ),
    (rf"urn:epc:idpat:upui:{_prefix_and(13)}\.\*$", lambda u, d: f"{_GS1}01/{_gtin(u, 19, d)}"),
]
"""(pattern, rewrite given the URN and the position of its first dot) of each EPC URN form,
in the reference's order; the first that matches rewrites."""

_URN_PATTERNS = [(re.compile(pattern), rewrite) for pattern, rewrite in _URN_RULES]

_KEYS = "01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai"  # noqa: E501
_LOOKS_LIKE_LINK = re.compile(
    r"https?:(\/\/((([^\/?#]*)@)?([^\/?#:]*)(:([^\/?#]*))?))?((([^?#]*)(\/("
    + _KEYS
    + r")\/)(\d{4}[^\/]+)(\/[^/]+\/[^/]+)?[/]?(\?([^?\n]*))?(#([^\n]*))?)|(\/[A-Za-z_-]{10}$))"
)
_ON_GS1_HOST = re.compile(
    r"https:\/\/id.gs1.org\/(01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)\/"
    r"(\d{4}[^\/]+)(\/[^\/]+\/[^\/]+)?[\/]?(\?([^?\n]*))?(#([^\n]*))?|(\/[A-Za-z_-]{10}$)"
)
_SHORT_NAMES = (
    ("gtin", "01"), ("itip", "8006"), ("cpid", "8010"), ("gln", "414"), ("party", "417"),
    ("gsrnp", "8017"), ("gsrn", "8018"), ("gcn", "255"), ("sscc", "00"), ("gdti", "253"),
    ("ginc", "401"), ("gsin", "402"), ("grai", "8003"), ("giai", "8004"), ("cpv", "22"),
    ("lot", "10"), ("ser", "21"),
)  # fmt: skip
# The keys in the order the reference looks for one to move onto id.gs1.org.
_REBASE_ORDER = (
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010",
    "8017", "8018",
)  # fmt: skip
_GTIN_PADDING = ((13, "0"), (12, "00"), (8, "000000"))
_G = r"https:\/\/id.gs1.org\/"
_CPV_ALONE = [
    re.compile(rf"{_G}8006\/\d{{18}}\/22\/({_V}{{0,20}})$"),
    re.compile(rf"{_G}01\/\d{{14}}\/22\/({_V}{{0,20}})$"),
]  # noqa: E501
_V_SLASH = _V.replace("[", r"[\x2F", 1)
_CPV_FIRST = [
    re.compile(rf"{_G}8006\/\d{{18}}\/22\/({_V_SLASH}{{0,20}})$"),
    re.compile(rf"{_G}01\/\d{{14}}\/22\/({_V_SLASH}{{0,20}})$"),
]  # noqa: E501
_LOT_AND_SERIAL = [
    re.compile(rf"{_G}8006\/\d{{18}}\/10\/({_V}{{0,20}})\/21\/({_V}{{0,20}})$"),
    re.compile(rf"{_G}01\/(\d{{14}})\/10\/({_V}{{0,20}})\/21\/({_V}{{0,20}})$"),
]
_CANONICAL = [
    re.compile(_G + pattern)
    for pattern in (
        r"00\/(\d{18})$",
        rf"01\/(\d{{14}})\/21\/({_V}{{0,20}})$",
        rf"01\/(\d{{14}})\/10\/({_V}{{0,20}})$",
        r"01\/(\d{14})$",
        rf"01\/(\d{{14}})\/235\/({_V}{{0,28}})$",
        rf"253\/(\d{{13}})({_V}{{0,17}})$",
        r"255\/(\d{13})(\d{0,12})$",
        rf"401\/({_V}{{0,30}})$",
        r"402\/(\d{17})$",
        r"414\/(\d{13})$",
        rf"414\/(\d{{13}})\/254\/({_V}{{0,20}})$",
        r"417\/(\d{13})$",
        rf"8003\/(\d{{14}})({_V}{{0,16}})$",
        rf"8004\/({_V}{{0,30}})$",
        rf"8006\/(\d{{18}})\/21\/({_V}{{0,20}})$",
        rf"8006\/(\d{{18}})\/10\/({_V}{{0,20}})$",
        r"8006\/(\d{18})$",
        r"8010\/([\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30})\/8011/(\d{0,12})$",
        r"8010\/([\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30})$",
        r"8017\/(\d{18})$",
        r"8018\/(\d{18})$",
    )
]
"""The forms the reference accepts as its result (checked with `match`, i.e. from the start)."""


def hash_form(text: str) -> str | None:
    """The constrained canonical Digital Link the reference writes for `text`, or None when
    it leaves `text` as written (no GS1 identifier it recognises)."""
    if "." not in text:
        return None
    dot = text.index(".")
    for pattern, rewrite in _URN_PATTERNS:
        if pattern.match(text):
            return rewrite(text, dot)
    if not _LOOKS_LIKE_LINK.match(text):
        return None
    return _constrained_link(text)


def _constrained_link(uri: str) -> str | None:
    if "?" in uri:
        uri = uri[: uri.index("?")]
    for name, ai in _SHORT_NAMES:
        uri = uri.replace(f"/{name}/", f"/{ai}/")
    if not _ON_GS1_HOST.match(uri):
        for ai in _REBASE_ORDER:
            if f"/{ai}/" in uri:
                uri = "https://id.gs1.org" + uri[uri.find(f"/{ai}/") :]
                break
    if not re.match(rf"{_G}01\/\d{{14}}", uri):
        for digits, zeros in _GTIN_PADDING:
            if re.match(rf"{_G}01\/\d{{{digits}}}", uri):
                uri = uri.replace("/01/", "/01/" + zeros)
                break
    after_cpv = uri[uri.find("/22/") + 4 :]
    if any(pattern.match(uri) for pattern in _CPV_ALONE):
        uri = uri[: uri.find("/22/")] + after_cpv[after_cpv.find("/") : -1]
    if any(pattern.match(uri) for pattern in _CPV_FIRST):
        uri = uri[: uri.find("/22/")] + after_cpv[after_cpv.find("/") :]
    if any(pattern.match(uri) for pattern in _LOT_AND_SERIAL):
        after_lot = uri[uri.find("/10/") + 4 :]
        uri = uri[: uri.find("/10/")] + after_lot[after_lot.find("/") :]
    if any(pattern.match(uri) for pattern in _CANONICAL):
        return uri
    return None
