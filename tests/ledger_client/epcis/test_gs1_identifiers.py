"""GS1 identifiers of EPCIS events: EPC URNs and Digital Links to one canonical Digital Link,
checked by hand, against the ledger's own `DigitalLink`, and against PyPI's `epcpy` (EPC URN
to GS1 element string) and `biip` (Digital Link to element strings)."""

from __future__ import annotations

import re

import biip
import epcpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.epcis.identifiers import (
    Gs1Identifier,
    InvalidIdentifier,
    NotGs1Identifier,
    canonical_uri,
    parse_identifier,
)
from ledger_client.errors import LedgerError
from ledger_client.identifiers import CSET_82, DigitalLink, gtin_check_digit

pytestmark = pytest.mark.unit

CSET_82_ALPHABET = "".join(sorted(CSET_82))
# What an EPC URN must percent-escape in a serial, lot or reference (TDS 2.0 §5, Table 5-1).
URN_ESCAPES = {c: f"%{ord(c):02X}" for c in '"%&/<>?'}


# epcpy 0.1.8 cuts a GIAI at ":" and misreads escapes such as "%2F0"; escaped characters are
# compared against DigitalLink, biip and the hand cases instead.
EPCPY_ALPHABET = "".join(c for c in CSET_82_ALPHABET if c not in URN_ESCAPES and c != ":")


def urn_escape(value: str) -> str:
    return "".join(URN_ESCAPES.get(c, c) for c in value)


def element_string(identifier: Gs1Identifier) -> str:
    text = f"({identifier.key_ai}){identifier.key}"
    if identifier.qualifier_ai is not None:
        text += f"({identifier.qualifier_ai}){identifier.qualifier}"
    return text


# --- EPC URNs, by hand ---------------------------------------------------------------------

URN_CASES = [
    # The official EPCIS 2.0 examples' identifiers.
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
    ("urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"),
    ("urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652"),
    ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"),
    ("urn:epc:id:sgln:4012345.00002.12", "https://id.gs1.org/414/4012345000023/254/12"),
    ("urn:epc:id:sgln:0614141.00777.0", "https://id.gs1.org/414/0614141007776"),
    ("urn:epc:id:grai:4012345.55555.987", "https://id.gs1.org/8003/04012345555554987"),
    ("urn:epc:id:giai:4000001.12345", "https://id.gs1.org/8004/400000112345"),
    ("urn:epc:id:gsrn:95252084.000000001", "https://id.gs1.org/8018/952520840000000010"),
    ("urn:epc:id:pgln:4000001.00012", "https://id.gs1.org/417/4000001000128"),
    ("urn:epc:id:gdti:95252084.0001.0003555480001000", "https://id.gs1.org/253/95252084000140003555480001000"),
    # GS1's hash generator's normaliser tests (tests/dl_normaliser_test.py).
    ("urn:epc:id:sgtin:4012345.011111.98%22", "https://id.gs1.org/01/04012345111118/21/98%22"),
    ("urn:epc:id:sgtin:415056789012.0.987654", "https://id.gs1.org/01/04150567890128/21/987654"),
    ("urn:epc:id:sscc:4012345.0000000011", "https://id.gs1.org/00/040123450000000115"),
    ("urn:epc:id:gsrnp:4012345.0000000007", "https://id.gs1.org/8017/401234500000000074"),
    ("urn:epc:id:gdti:987659999999..9", "https://id.gs1.org/253/98765999999929"),
    ("urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234", "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234"),
    ("urn:epc:id:ginc:0614141.xyz47%2F11", "https://id.gs1.org/401/0614141xyz47%2F11"),
    ("urn:epc:id:gsin:4012345.222333444", "https://id.gs1.org/402/40123452223334442"),
    ("urn:epc:id:itip:4012345.011111.01.02.987", "https://id.gs1.org/8006/040123451111180102/21/987"),
    ("urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7SDB", "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7SDB"),
    ("urn:epc:id:pgln:999999999999.", "https://id.gs1.org/417/9999999999994"),
    ("urn:epc:idpat:grai:4012345.99999.*", "https://id.gs1.org/8003/04012345999990"),
    ("urn:epc:idpat:gdti:4012345.11111.*", "https://id.gs1.org/253/4012345111118"),
    ("urn:epc:idpat:sgcn:4012345.22222.*", "https://id.gs1.org/255/4012345222227"),
    ("urn:epc:idpat:cpi:4012345.AB12.*", "https://id.gs1.org/8010/4012345AB12"),
    ("urn:epc:idpat:itip:4012345.012345.01.02.*", "https://id.gs1.org/8006/040123451234560102"),
    ("urn:epc:idpat:upui:4012345.012345.*", "https://id.gs1.org/01/04012345123456"),
    # An ID pattern without a wildcard names one instance.
    ("urn:epc:idpat:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
    # The URN's fixed parts are case-insensitive, its values are not.
    ("URN:EPC:ID:SGTIN:0614141.107346.aBc", "https://id.gs1.org/01/10614141073464/21/aBc"),
    # A serial may hold dots; escapes are read whatever their case.
    ("urn:epc:id:sgtin:0614141.107346.a.b%2fc", "https://id.gs1.org/01/10614141073464/21/a.b%2Fc"),
]  # fmt: skip


@pytest.mark.parametrize(("urn", "uri"), URN_CASES)
def test_epc_urns_become_their_canonical_digital_link(urn: str, uri: str) -> None:
    assert parse_identifier(urn).uri == uri
    assert canonical_uri(urn) == uri
    assert parse_identifier(uri) == parse_identifier(urn)  # the URI reads back as the same


@pytest.mark.parametrize(
    ("urn", "kind"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "item"),
        ("urn:epc:class:lgtin:4012345.012345.998877", "lot"),
        ("urn:epc:idpat:sgtin:4012345.098765.*", "product"),
        ("urn:epc:id:sscc:0614141.1234567890", "logistic_unit"),
        ("urn:epc:id:sgln:4012345.00002.12", "location"),
        ("urn:epc:id:pgln:4000001.00012", "party"),
        ("urn:epc:id:grai:4012345.55555.987", "asset"),
        ("urn:epc:idpat:grai:4012345.99999.*", "asset_type"),
        ("urn:epc:id:giai:4000001.12345", "asset"),
        ("urn:epc:id:gdti:95252084.0001.0003555480001000", "document"),
        ("urn:epc:id:upui:1234567.098765.51qIgY", "item"),
        ("urn:epc:id:itip:4012345.011111.01.02.987", "item"),
        ("urn:epc:id:cpi:0614141.11111111111111-A.1234", "component"),
        ("urn:epc:id:gsrn:95252084.000000001", "service_relation"),
    ],
)
def test_the_kind_says_what_is_named(urn: str, kind: str) -> None:
    assert parse_identifier(urn).kind == kind


# --- The URN and the Digital Link of one lot or item compare equal --------------------------

SAME_OBJECT = [
    # Pairs from the official examples and their WithDigitalLinkID twins.
    ("urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652"),
    ("urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"),
    ("urn:epc:class:lgtin:0614141.077777.987", "https://id.gs1.org/01/00614141777778/10/987"),
    ("urn:epc:idpat:sgtin:4012345.066666.*", "https://id.gs1.org/01/04012345666663"),
    # Other hosts, a path before the key, old short names, shorter GTINs, data attributes,
    # a trailing slash, a product variant and a lot next to the serial, percent-encoding.
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://brand.example/01/10614141073464/21/2017"),
    ("urn:epc:id:sgtin:0614141.107346.2017", "HTTP://brand.example/p/x/01/10614141073464/21/2017/"),
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/gtin/10614141073464/ser/2017"),
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/22/V1/10/L1/21/2017"),
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017?17=301231#x"),
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/%3201%37"),
    ("urn:epc:class:lgtin:9506000.013435.A%2F1", "https://id.gs1.org/01/9506000134352/10/A%2f1"),
    ("urn:epc:class:lgtin:9506000.013435.A%2F1", "https://id.gs1.org/01/09506000134352/lot/A%2F1"),
    ("urn:epc:idpat:sgtin:0000096.038507.*", "https://id.gs1.org/01/96385074"),
    ("urn:epc:idpat:sgtin:0012345.067890.*", "https://id.gs1.org/01/012345678905"),
    ("urn:epc:id:sscc:0614141.1234567890", "https://example.com/sscc/106141412345678908"),
    ("urn:epc:id:sgln:4012345.00002.12", "https://example.com/414/4012345000023/254/12"),
    ("urn:epc:id:giai:4000001.111", "https://id.gs1.org/8004/4000001111"),
    ("urn:epc:id:gdti:4012345.00005.987", "https://example.com/253/4012345000054987"),
]  # fmt: skip


@pytest.mark.parametrize(("urn", "uri"), SAME_OBJECT)
def test_urn_and_digital_link_of_one_object_compare_equal(urn: str, uri: str) -> None:
    assert parse_identifier(urn) == parse_identifier(uri)
    assert hash(parse_identifier(urn)) == hash(parse_identifier(uri))
    assert canonical_uri(urn) == canonical_uri(uri)


@given(
    prefix_length=st.integers(6, 12),
    digits=st.text(alphabet="0123456789", min_size=13, max_size=13),
    kind=st.sampled_from(["lot", "item"]),
    value=st.text(alphabet=CSET_82_ALPHABET, min_size=1, max_size=20),
)
def test_lots_and_items_are_the_ledgers_digital_links(
    prefix_length: int, digits: str, kind: str, value: str
) -> None:
    scheme = "class:lgtin" if kind == "lot" else "id:sgtin"
    urn = f"urn:epc:{scheme}:{digits[:prefix_length]}.{digits[prefix_length:]}.{urn_escape(value)}"
    identifier = parse_identifier(urn)
    link = DigitalLink.parse(urn)
    assert identifier.digital_link == link
    assert identifier.uri == link.uri  # so the on-chain id (keccak of the URI) is the same
    assert parse_identifier(link.uri) == identifier


def test_only_gtin_lots_and_items_have_a_ledger_digital_link() -> None:
    for text in (
        "urn:epc:idpat:sgtin:4012345.098765.*",
        "urn:epc:id:sscc:0614141.1234567890",
        "urn:epc:id:upui:1234567.098765.51qIgY",
        "urn:epc:id:itip:4012345.011111.01.02.987",
    ):
        assert parse_identifier(text).digital_link is None


# --- Against epcpy and biip ------------------------------------------------------------------


@st.composite
def gs1_urns(draw: st.DrawFn) -> str:
    """A random pure-identity URN of a scheme epcpy converts, company prefix of any length."""
    scheme, total, text_field = draw(
        st.sampled_from(
            [
                ("sgtin", 13, "serial"), ("class:lgtin", 13, "serial"), ("sscc", 17, None),
                ("sgln", 12, "serial"), ("grai", 12, "grai"), ("gsrn", 17, None),
                ("gsrnp", 17, None), ("gdti", 12, "gdti"), ("pgln", 12, None),
                ("gsin", 16, None), ("sgcn", 12, "digits"), ("giai", None, "giai"),
                ("ginc", None, "giai"),
            ]
        )
    )  # fmt: skip
    prefix_length = draw(st.integers(6, 12))
    # epcpy refuses GS1 prefix 000 (reserved); prefixes with one leading 0 are hand cases.
    digits = draw(st.sampled_from("123456789")) + draw(
        st.text(alphabet="0123456789", min_size=16, max_size=16)
    )
    prefix = digits[:prefix_length]
    fields = [prefix]
    if total is not None:
        fields.append(digits[prefix_length:total])
    if text_field is not None:
        longest = {"serial": 20, "grai": 16, "gdti": 17, "digits": 12, "giai": 30 - prefix_length}
        alphabet = "0123456789" if text_field == "digits" else EPCPY_ALPHABET
        value = draw(st.text(alphabet=alphabet, min_size=1, max_size=longest[text_field]))
        if scheme == "sgln" and value == "0":
            value = "1"
        fields.append(urn_escape(value))
    space = "" if scheme.startswith("class:") else "id:"
    return f"urn:epc:{space}{scheme}:" + ".".join(fields)


@given(gs1_urns())
def test_urns_read_as_epcpy_reads_them(urn: str) -> None:
    ours = element_string(parse_identifier(urn))
    theirs = epcpy.epc_pure_identity_to_gs1_element_string(urn)
    assert ours == theirs


def test_sgln_extension_zero_is_the_gln_itself_unlike_epcpy() -> None:
    # TDS 2.0 §6.3.3: extension 0 "indicates that the SGLN is a GLN without extension".
    # epcpy keeps it as (254)0; CBV 2.0 §8.9 and GS1's hash generator drop it, as we do.
    urn = "urn:epc:id:sgln:4012345.00002.0"
    assert epcpy.epc_pure_identity_to_gs1_element_string(urn) == "(414)4012345000023(254)0"
    assert element_string(parse_identifier(urn)) == "(414)4012345000023"


@given(gs1_urns())
def test_canonical_uris_read_as_biip_reads_them(urn: str) -> None:
    identifier = parse_identifier(urn)
    parsed = biip.parse(identifier.uri).gs1_digital_link_uri
    assert parsed is not None
    elements = [(element.ai.ai, element.value) for element in parsed.element_strings]
    expected = [(identifier.key_ai, identifier.key)]
    if identifier.qualifier_ai is not None:
        expected.append((identifier.qualifier_ai, identifier.qualifier))
    assert elements == expected


@pytest.mark.parametrize(
    "uri",
    # biip reads numeric AIs only, from the start of the path, with no trailing slash.
    [uri for _, uri in SAME_OBJECT if re.fullmatch(r"https://[^/]+(/[0-9]+/[^/?#]+)+", uri)],
)
def test_digital_links_read_as_biip_reads_their_key(uri: str) -> None:
    parsed = biip.parse(uri).gs1_digital_link_uri
    assert parsed is not None
    key = parsed.element_strings[0]
    identifier = parse_identifier(uri)
    assert (key.ai.ai, key.value.zfill(14) if key.ai.ai == "01" else key.value) == (
        identifier.key_ai,
        identifier.key,
    )


# --- Refusals --------------------------------------------------------------------------------

MALFORMED = [
    ("https://id.gs1.org/01/09506000134353/10/A", r"GTIN check digit is 3, expected 2"),
    ("urn:epc:id:sgtin:0614141.10734.1", r"item reference \(5 digits\) must have 13"),
    ("urn:epc:id:sgtin:06141.1073461.1", r"company prefix '06141' must be 6 to 12 digits"),
    ("urn:epc:id:sgtin:0614141.107346.", r"serial '' has 0 characters"),
    ("urn:epc:id:sgtin:0614141.107346." + "1" * 21, r"has 21 characters; it needs 1 to 20"),
    ("urn:epc:id:sgtin:0614141.107346.a b", r"contains ' ', which is not in GS1 character set 82"),
    ("urn:epc:id:sgtin:0614141.107346.%ZZ", r"'%' not followed by two hex digits"),
    ("urn:epc:id:sgtin:0614141.107346", r"expected 3 dot-separated fields"),
    ("urn:epc:id:sscc:0614141.123456789", r"must have 17 digits together"),
    ("urn:epc:idpat:sgtin:4012345.*.*", r"matches more than one GS1 key"),
    ("urn:epc:idpat:sscc:0614141.*", r"matches more than one GS1 key"),
    ("urn:epc:tag:sgtin-96:3.0614141.812345.6789", r"pure-identity URNs"),
    ("urn:epc:class:sgtin:4012345.012345.1", r"only lgtin is"),
    ("urn:epc:id:sgtinx:4012345.012345.1", r"not an EPC scheme of the Tag Data Standard"),
    ("urn:epc:sgtin", r"an EPC URN is urn:epc:id\|class\|idpat"),
    ("urn:epc:id:itip:4012345.011111.1.02.987", r"ITIP piece '1' must be 2 digits"),
    ("https://id.gs1.org/01/09506000134352/21/a/10/b", r"go in the order 22/10/21 or 235"),
    ("https://id.gs1.org/01/09506000134352/99/x", r"AI 99 is not a key qualifier of AI 01"),
    ("https://id.gs1.org/00/123456", r"SSCC '123456' has 6 digits; it needs 18"),
    ("https://id.gs1.org/414/4012345000024", r"GLN check digit is 4, expected 3"),
    ("https://id.gs1.org/8003/14012345555554987", r"GRAI .* must start with 0"),
    ("https://id.gs1.org/01/09506000134352/21/" + "A" * 21, r"has 21 characters"),
    ("", r"expected an EPC URN or a Digital Link URI"),
    ("urn:epc:id:sgtin:" + "1" * 2_000, r"has 2017 characters"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "reason"), MALFORMED)
def test_malformed_identifiers_are_refused_naming_the_value(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason) as raised:
        parse_identifier(text)
    assert not isinstance(raised.value, NotGs1Identifier)
    assert isinstance(raised.value, LedgerError)
    assert repr(text[:40]) in str(raised.value) or text[:40] in str(raised.value)


NOT_GS1 = [
    "urn:epc:id:gid:95100000.12345.400",
    "urn:epc:id:usdod:CAGEY.5678",
    "urn:epc:id:bic:CSQU3054383",
    "https://example.com/docs/01/intro",
    "https://example.com/items/123",
    "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "geo:50.9,6.9",
]


@pytest.mark.parametrize("text", NOT_GS1)
def test_uris_without_a_gs1_key_are_kept_as_written(text: str) -> None:
    with pytest.raises(NotGs1Identifier, match=re.escape(repr(text))):
        parse_identifier(text)
    assert canonical_uri(text) == text


def test_an_identifier_is_checked_when_built_directly() -> None:
    assert Gs1Identifier("01", "09506000134352", "21", "A/1").uri == (
        "https://id.gs1.org/01/09506000134352/21/A%2F1"
    )
    with pytest.raises(InvalidIdentifier, match="GTIN check digit"):
        Gs1Identifier("01", "09506000134353")
    with pytest.raises(InvalidIdentifier, match="not a key qualifier CBV 2.0 keeps"):
        Gs1Identifier("01", "09506000134352", "22", "V1")
    with pytest.raises(InvalidIdentifier, match="both its AI and its value"):
        Gs1Identifier("01", "09506000134352", "21", None)
    with pytest.raises(InvalidIdentifier, match="not the AI of a GS1 primary key"):
        Gs1Identifier("99", "1")


@given(st.text(max_size=80))
def test_any_text_is_read_or_refused_clearly(text: str) -> None:
    try:
        identifier = parse_identifier(text)
    except InvalidIdentifier:
        return
    assert parse_identifier(identifier.uri) == identifier


def test_the_urns_indicator_digit_leads_the_gtin_with_a_check_digit_added() -> None:
    # TDS 2.0 §7.1: 0614141.812345 is company prefix 0614141, indicator 8, item ref 12345.
    assert parse_identifier("urn:epc:id:sgtin:0614141.812345.1").key == (
        "8061414112345" + str(gtin_check_digit("8061414112345"))
    )
