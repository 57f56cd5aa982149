"""GS1 Digital Link identifiers: GTIN rules, lot / serial rules, URI forms, EPC URNs."""

from __future__ import annotations

import re

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.errors import LedgerError
from ledger_client.identifiers import (
    CSET_82,
    DigitalLink,
    InvalidIdentifier,
    decode_value,
    encode_value,
    gtin_check_digit,
    normalize_gtin,
    parse_company_prefix,
    parse_product_class,
)

pytestmark = pytest.mark.unit

CSET_82_ALPHABET = "".join(sorted(CSET_82))
UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")


@st.composite
def gtins(draw: st.DrawFn, lengths: tuple[int, ...] = (8, 12, 13, 14)) -> str:
    length = draw(st.sampled_from(lengths))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return body + str(gtin_check_digit(body))


values = st.text(alphabet=CSET_82_ALPHABET, min_size=1, max_size=20)
kinds = st.sampled_from(["lot", "item"])


# --- GTIN -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gtin", "gtin14"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("012345678905", "00012345678905"),  # GTIN-12 (UPC-A)
        ("9506000134352", "09506000134352"),  # GTIN-13
        ("09506000134352", "09506000134352"),
        ("80614141123458", "80614141123458"),  # GTIN-14, EPC TDS example
    ],
)
def test_valid_gtins_are_padded_to_14_digits(gtin: str, gtin14: str) -> None:
    assert normalize_gtin(gtin) == gtin14


def test_bad_check_digit_names_given_and_expected_digit() -> None:
    with pytest.raises(InvalidIdentifier, match=r"GTIN check digit is 3, expected 2"):
        normalize_gtin("09506000134353")


@pytest.mark.parametrize("gtin", ["1234567", "1234567890", "12345678901", "123456789012345", ""])
def test_gtin_of_wrong_length_is_refused(gtin: str) -> None:
    with pytest.raises(InvalidIdentifier, match=r"a GTIN has 8, 12, 13 or 14 digits|digits only"):
        normalize_gtin(gtin)


@pytest.mark.parametrize("gtin", ["0950600013435A", "09506000-34352", "٠٩٥٠٦٠٠٠١٣٤٣٥٢"])
def test_gtin_with_non_digits_is_refused(gtin: str) -> None:
    with pytest.raises(InvalidIdentifier, match="digits only"):
        normalize_gtin(gtin)


@given(gtins(), st.integers(min_value=1, max_value=9))
def test_every_wrong_check_digit_is_caught(gtin: str, shift: int) -> None:
    wrong = gtin[:-1] + str((int(gtin[-1]) + shift) % 10)
    with pytest.raises(InvalidIdentifier, match=f"check digit is {wrong[-1]}"):
        normalize_gtin(wrong)


def test_invalid_identifier_is_a_ledger_error() -> None:
    assert issubclass(InvalidIdentifier, LedgerError)


# --- Lot and serial values --------------------------------------------------------------


def test_illegal_lot_character_is_named() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        DigitalLink.lot("09506000134352", "AB#1")
    assert str(caught.value) == "lot contains '#' which is not in GS1 character set 82"


@pytest.mark.parametrize("char", [" ", "#", "~", "@", "$", "[", "é", "\n"])
def test_characters_outside_set_82_are_refused(char: str) -> None:
    with pytest.raises(InvalidIdentifier, match="not in GS1 character set 82"):
        DigitalLink.item("09506000134352", f"S{char}1")


def test_serial_errors_say_serial() -> None:
    with pytest.raises(InvalidIdentifier, match=r"^serial contains ' '"):
        DigitalLink.item("09506000134352", "S 1")


def test_empty_lot_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="lot is empty; it needs 1 to 20 characters"):
        DigitalLink.lot("09506000134352", "")


def test_lot_longer_than_20_characters_is_refused() -> None:
    DigitalLink.lot("09506000134352", "L" * 20)
    with pytest.raises(InvalidIdentifier, match="has 21 characters; at most 20 are allowed"):
        DigitalLink.lot("09506000134352", "L" * 21)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="kind must be 'lot' or 'item'"):
        DigitalLink("09506000134352", "pallet", "X1")  # type: ignore[arg-type]


# --- URI and path forms -----------------------------------------------------------------


def test_lot_uri_and_path() -> None:
    link = DigitalLink.lot("9506000134352", "ABC123")
    assert link.gtin == "09506000134352"
    assert link.uri == "https://id.gs1.org/01/09506000134352/10/ABC123"
    assert link.path == "/01/09506000134352/10/ABC123"
    assert link.product_uri == "https://id.gs1.org/01/09506000134352"
    assert str(link) == link.uri


def test_item_uri() -> None:
    link = DigitalLink.item("80614141123458", "6789")
    assert link.uri == "https://id.gs1.org/01/80614141123458/21/6789"


def test_reserved_characters_are_percent_encoded_in_uppercase_hex() -> None:
    link = DigitalLink.lot("09506000134352", "A/B+C%D?E")
    assert link.path == "/01/09506000134352/10/A%2FB%2BC%25D%3FE"


def test_encoded_set_is_set_82_without_letters_digits_and_unreserved() -> None:
    encoded = {c for c in CSET_82 if encode_value(c) != c}
    assert encoded == set("!\"%&'()*+,/:;<=>?")
    assert encoded == set(CSET_82) - UNRESERVED


@pytest.mark.parametrize(
    "text",
    [
        "https://id.gs1.org/01/09506000134352/10/A%2FB",
        "https://id.gs1.org/01/09506000134352/10/A%2fB",
        "HTTPS://id.gs1.org/01/09506000134352/10/%41%2FB",
        "http://brand.example.com/01/9506000134352/10/A%2FB",
        "/01/09506000134352/10/A%2FB",
        "/01/9506000134352/10/A%2fB",
    ],
)
def test_parse_accepts_any_host_short_gtins_and_any_encoding(text: str) -> None:
    assert DigitalLink.parse(text) == DigitalLink.lot("09506000134352", "A/B")
    assert DigitalLink.parse(text).uri == "https://id.gs1.org/01/09506000134352/10/A%2FB"


def test_parse_accepts_unencoded_sub_delimiters() -> None:
    assert DigitalLink.parse("/01/09506000134352/21/A&B=C").value == "A&B=C"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a Digital Link URI"),
        ("ftp://id.gs1.org/01/09506000134352/10/A", "is not a GS1 Digital Link URI"),
        ("id.gs1.org/01/09506000134352/10/A", "is not a GS1 Digital Link URI"),
        ("https:///01/09506000134352/10/A", "is not a GS1 Digital Link URI"),
        ("https://id.gs1.org/01/09506000134352", "does not have the path"),
        ("https://id.gs1.org/01/09506000134352/22/A", "does not have the path"),
        ("https://id.gs1.org/01/09506000134352/10/A/21/1", "does not have the path"),
        ("https://id.gs1.org/01/09506000134352/10/A/", "does not have the path"),
        ("https://id.gs1.org/gtin/09506000134352/lot/A", "does not have the path"),
        ("https://id.gs1.org/01/09506000134352/10/A?17=251231", "has a query string"),
        ("https://id.gs1.org/01/09506000134352/10/A%2", "'%' not followed by two hex digits"),
        ("https://id.gs1.org/01/09506000134352/10/A%G1", "'%' not followed by two hex digits"),
        ("/01/09506000134352/10/A%C3", "does not decode to UTF-8"),
        ("/01/09506000134352/10/%C3%A9", "'é' which is not in GS1 character set 82"),
        ("https://id.gs1.org/01/09506000134353/10/A", "GTIN check digit is 3, expected 2"),
        ("https://id.gs1.org/01/0950600013435/10/A", "GTIN check digit is 5, expected 9"),
        ("/01/09506000134352/10/A#B", "'#' which is not in GS1 character set 82"),
        ("/01/09506000134352/10/", "lot is empty"),
        ("/01/09506000134352/21/" + "9" * 21, "has 21 characters"),
    ],
)
def test_malformed_identifiers_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=re.escape(message)):
        DigitalLink.parse(text)


@given(gtins(), kinds, values)
def test_uri_and_path_round_trip(gtin: str, kind: str, value: str) -> None:
    link = DigitalLink(gtin, kind, value)  # type: ignore[arg-type]
    assert link.gtin == gtin.zfill(14)
    assert DigitalLink.parse(link.uri) == link
    assert DigitalLink.parse(link.path) == link
    assert link.uri == "https://id.gs1.org" + link.path


@given(gtins(), kinds, values)
def test_canonical_uri_uses_only_unreserved_characters_and_escapes(
    gtin: str, kind: str, value: str
) -> None:
    encoded = DigitalLink(gtin, kind, value).path.rsplit("/", 1)[1]  # type: ignore[arg-type]
    assert re.fullmatch(r"(?:[A-Za-z0-9._-]|%[0-9A-F]{2})+", encoded)


@given(values)
def test_fully_encoded_input_decodes_to_the_same_value(value: str) -> None:
    every_char_encoded = "".join(f"%{ord(c):02x}" for c in value)
    assert decode_value(every_char_encoded) == value
    assert decode_value(encode_value(value)) == value


@given(gtins(), values)
def test_lot_and_item_of_the_same_value_are_different_batches(gtin: str, value: str) -> None:
    lot, item = DigitalLink.lot(gtin, value), DigitalLink.item(gtin, value)
    assert lot.batch_id != item.batch_id
    assert lot.product_class == item.product_class


@given(values.filter(lambda v: any(c not in UNRESERVED for c in v)), gtins())
def test_equal_identifiers_have_equal_ids_whatever_the_input_encoding(
    value: str, gtin: str
) -> None:
    canonical = DigitalLink.lot(gtin, value)
    raw_path = f"/01/{gtin}/10/" + "".join(f"%{ord(c):02x}" for c in value)
    assert DigitalLink.parse(raw_path).batch_id == canonical.batch_id


@given(
    st.text(alphabet=CSET_82_ALPHABET, max_size=9),
    st.characters().filter(lambda c: c not in CSET_82),
    st.text(alphabet=CSET_82_ALPHABET, max_size=10),
)
def test_a_character_outside_set_82_is_always_refused(before: str, bad: str, after: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"contains {re.escape(repr(bad))} which is not"):
        DigitalLink.lot("09506000134352", before + bad + after)


# --- On-chain ids -----------------------------------------------------------------------


def test_batch_id_is_keccak_of_canonical_uri() -> None:
    link = DigitalLink.parse("/01/9506000134352/10/A%2fB")
    assert link.batch_id == keccak(b"https://id.gs1.org/01/09506000134352/10/A%2FB")
    assert len(link.batch_id) == 32


def test_product_class_is_keccak_of_product_uri() -> None:
    link = DigitalLink.item("09506000134352", "1")
    assert link.product_class == keccak(b"https://id.gs1.org/01/09506000134352")


def test_identifiers_are_hashable_values() -> None:
    first = DigitalLink.lot("9506000134352", "L1")
    assert first == DigitalLink.lot("09506000134352", "L1")
    assert len({first, DigitalLink.parse(first.uri)}) == 1


# --- EPC URNs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urn", "uri"),
    [
        # Both forms of the same lot appear in GS1's EPCIS 2.0 examples.
        (
            "urn:epc:class:lgtin:4012345.012345.998877",
            "https://id.gs1.org/01/04012345123456/10/998877",
        ),
        # EPC Tag Data Standard example: GTIN 80614141123458, serial 6789.
        ("urn:epc:id:sgtin:0614141.812345.6789", "https://id.gs1.org/01/80614141123458/21/6789"),
        ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
        # A 12-digit company prefix leaves the indicator digit alone in the reference.
        ("urn:epc:id:sgtin:061414112345.8.1", "https://id.gs1.org/01/80614141123458/21/1"),
        # EPC URIs escape '/' and '%' too.
        ("urn:epc:id:sgtin:0614141.812345.A%2FB", "https://id.gs1.org/01/80614141123458/21/A%2FB"),
    ],
)
def test_epc_urns_convert_to_digital_links(urn: str, uri: str) -> None:
    assert DigitalLink.parse(urn).uri == uri


@pytest.mark.parametrize(
    ("urn", "message"),
    [
        ("urn:epc:id:sgtin:0614141.12345.1", "13 digits together"),
        ("urn:epc:id:sgtin:06141.12345678.1", "6-12 digits"),
        ("urn:epc:id:sgln:0614141.07346.1234", "is not an LGTIN or SGTIN EPC URN"),
        ("urn:epc:class:lgtin:0614141.812345", "is not an LGTIN or SGTIN EPC URN"),
        ("urn:epc:id:sgtin:0614141.812345.", "serial is empty"),
        ("urn:epc:class:lgtin:0614141.812345.A B", "lot contains ' '"),
    ],
)
def test_malformed_epc_urns_are_refused(urn: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=re.escape(message)):
        DigitalLink.parse(urn)


@given(gtins(lengths=(14,)), st.integers(min_value=6, max_value=12), kinds, values)
def test_epc_urn_of_any_company_prefix_length_gives_the_same_link(
    gtin: str, prefix_length: int, kind: str, value: str
) -> None:
    prefix, reference = gtin[1 : 1 + prefix_length], gtin[0] + gtin[1 + prefix_length : 13]
    scheme = "class:lgtin" if kind == "lot" else "id:sgtin"
    urn = f"urn:epc:{scheme}:{prefix}.{reference}.{encode_value(value)}"
    assert DigitalLink.parse(urn) == DigitalLink(gtin, kind, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "https://id.gs1.org/01/09506000134352/10/A\ud800",
        "urn:epc:class:lgtin:9506000.013435.\udfff",
    ],
)
def test_a_lone_surrogate_is_an_invalid_identifier(text: str) -> None:
    with pytest.raises(InvalidIdentifier, match="does not decode to UTF-8 text"):
        DigitalLink.parse(text)


def test_text_over_the_length_limit_is_refused_without_being_echoed() -> None:
    text = "https://id.gs1.org/01/09506000134352/10/" + "A" * 100_000
    with pytest.raises(InvalidIdentifier, match="at most 1024") as refused:
        DigitalLink.parse(text)
    assert len(str(refused.value)) < 200


# --- product classes and company prefixes -----------------------------------------------


@pytest.mark.parametrize(
    "product",
    [
        "09506000134352",
        "9506000134352",
        "https://id.gs1.org/01/09506000134352",
        "https://example.com/01/9506000134352",
        "0x" + keccak(b"https://id.gs1.org/01/09506000134352").hex(),
    ],
)
def test_a_product_class_is_that_of_the_products_lots(product: str) -> None:
    assert parse_product_class(product) == DigitalLink.lot("09506000134352", "L1").product_class


@pytest.mark.parametrize(
    ("product", "message"),
    [
        ("09506000134353", "GTIN check digit is 3, expected 2"),
        ("https://id.gs1.org/01/09506000134352/10/L1", "is not a GTIN, a product's Digital"),
        ("https://id.gs1.org/01/09506000134352?x=1", "is not a GTIN, a product's Digital"),
        ("0x1234", "product class '0x1234' is not 0x and 64 hex digits"),
        ("cold vaccines", "is not a GTIN, a product's Digital"),
    ],
)
def test_a_malformed_product_class_is_refused(product: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=re.escape(message)):
        parse_product_class(product)


@pytest.mark.parametrize("prefix", ["950600", "0614141", "123456789012"])
def test_a_company_prefix_has_6_to_12_digits(prefix: str) -> None:
    assert parse_company_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["95060", "1234567890123", "95O6000", "٩٥٠٦٠٠٠", ""])
def test_a_malformed_company_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidIdentifier, match="must be 6 to 12 digits"):
        parse_company_prefix(prefix)
