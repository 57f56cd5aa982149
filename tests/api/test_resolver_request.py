"""The resolver's reading of a scanned Digital Link: a table of valid and invalid URIs."""

from __future__ import annotations

import pytest

from api.resolver.request import (
    ResolverRequest,
    ResolverSyntaxError,
    UnsupportedKey,
    ZeroSuppressedGtin,
    parse_request,
)
from ledger_client.identifiers import DigitalLink

pytestmark = pytest.mark.unit

GTIN = "09506000134352"  # GS1's example GTIN, check digit 2


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        (f"/01/{GTIN}", [], ResolverRequest(GTIN)),
        (f"/01/{GTIN}/", [], ResolverRequest(GTIN)),
        (f"/01/{GTIN}/10/ABC1", [], ResolverRequest(GTIN, (("10", "ABC1"),))),
        (f"/01/{GTIN}/21/S-9", [], ResolverRequest(GTIN, (("21", "S-9"),))),
        (
            f"/01/{GTIN}/22/V1/10/L1/21/S1",
            [],
            ResolverRequest(GTIN, (("22", "V1"), ("10", "L1"), ("21", "S1"))),
        ),
        (f"/01/{GTIN}/235/TP1", [], ResolverRequest(GTIN, (("235", "TP1"),))),
        # Percent-encoded values are decoded; "/" inside a lot arrives as %2F.
        (f"/01/{GTIN}/10/A%2F1%21", [], ResolverRequest(GTIN, (("10", "A/1!"),))),
        (f"/01/{GTIN}/10/{'x' * 20}", [], ResolverRequest(GTIN, (("10", "x" * 20),))),
        # Data attributes: validated, kept in order; unknown non-numeric parameters ignored.
        (
            f"/01/{GTIN}/10/L1",
            [("17", "261231"), ("3103", "000195"), ("utm_source", "x")],
            ResolverRequest(GTIN, (("10", "L1"),), (("17", "261231"), ("3103", "000195"))),
        ),
        (
            f"/01/{GTIN}/10/L1",
            [("linkType", "gs1:pip")],
            ResolverRequest(GTIN, (("10", "L1"),), link_type="gs1:pip"),
        ),
        # Digital Link 1.0 short names still printed on old labels.
        (f"/gtin/{GTIN}/lot/L1", [], ResolverRequest(GTIN, (("10", "L1"),))),
    ],
)
def test_valid_uris_are_read(path, query, expected):
    assert parse_request(path, query) == expected


@pytest.mark.parametrize(
    ("path", "query", "says"),
    [
        ("/01/09506000134353/10/L1", [], "check digit is 3, expected 2"),
        (f"/01/{GTIN}/21/S1/10/L1", [], "wrong order"),
        (f"/01/{GTIN}/10/L1/22/V1", [], "wrong order"),
        (f"/01/{GTIN}/10/L1/10/L2", [], "repeated"),
        (f"/01/{GTIN}/235/T/21/S", [], "stands alone"),
        (f"/01/{GTIN}/10/{'x' * 21}", [], "X..20"),
        (f"/01/{GTIN}/10/a%C3%A9", [], "format of AI 10"),  # é is outside set 82
        (f"/01/{GTIN}/10/a b", [], "format of AI 10"),
        (f"/01/{GTIN}/10/A%2", [], "not followed by two hex digits"),
        (f"/01/{GTIN}/17/261231", [], "not a key qualifier"),
        (f"/01/{GTIN}/10", [], "not a Digital Link path"),
        ("/01/0950600013435X", [], "digits only"),
        ("/01/123456789", [], "has 9 digits"),
        ("/foo/bar", [], "does not start with a GS1 primary key"),
        (f"/01/{GTIN}/10/L1", [("10", "L2")], "belongs in the path"),
        (f"/01/{GTIN}/10/L1", [("21", "S")], "belongs in the path"),
        (f"/01/{GTIN}/10/L1", [("01", GTIN)], "belongs in the path"),
        (f"/01/{GTIN}/10/L1", [("17", "261231"), ("17", "270101")], "given twice"),
        (f"/01/{GTIN}/10/L1", [("17", "261331")], "format of AI 17"),
        (f"/01/{GTIN}/10/L1", [("3103", "12")], "format of AI 3103"),
        (f"/01/{GTIN}/10/L1", [("9999", "x")], "not a GS1 Application Identifier"),
        (f"/01/{GTIN}", [("linkType", "gs1:pip"), ("linkType", "gs1:epcis")], "twice"),
    ],
)
def test_invalid_uris_say_what_is_wrong(path, query, says):
    with pytest.raises(ResolverSyntaxError) as refused:
        parse_request(path, query)
    assert type(refused.value) is ResolverSyntaxError
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/01/9506000134352/10/L%2F1", f"/01/{GTIN}/10/L%2F1"),  # GTIN-13
        ("/01/614141999996", "/01/00614141999996"),  # GTIN-12
        ("/01/95060002/21/S1", "/01/00000095060002/21/S1"),  # GTIN-8
    ],
)
def test_zero_suppressed_gtins_name_the_14_digit_form(path, canonical):
    with pytest.raises(ZeroSuppressedGtin) as refused:
        parse_request(path, [])
    assert refused.value.canonical_path == canonical
    assert "14" in str(refused.value)
    assert parse_request(canonical, []).gtin == canonical.split("/")[2]


def test_a_zero_suppressed_gtin_with_a_bad_check_digit_is_a_plain_syntax_error():
    with pytest.raises(ResolverSyntaxError) as refused:
        parse_request("/01/9506000134353", [])
    assert type(refused.value) is ResolverSyntaxError


def test_other_gs1_keys_are_well_formed_but_not_served():
    with pytest.raises(UnsupportedKey, match="AI 414"):
        parse_request("/414/9506000134352", [])


@pytest.mark.parametrize(
    ("path", "identifier"),
    [
        (f"/01/{GTIN}", None),
        (f"/01/{GTIN}/10/L%2F1", DigitalLink.lot(GTIN, "L/1")),
        (f"/01/{GTIN}/10/L1/21/S1", DigitalLink.item(GTIN, "S1")),
        (f"/01/{GTIN}/22/V/10/L1", DigitalLink.lot(GTIN, "L1")),
    ],
)
def test_the_identifier_is_the_finest_level_named(path, identifier):
    assert parse_request(path, []).identifier == identifier
