"""The resolver's links: linkset (RFC 9264, GS1's linkset constraints) and description file."""

from __future__ import annotations

import jsonschema
import pytest

from api.resolver.links import describe_resolver, link_of_type, links_of, linkset, term_of
from api.resolver.request import parse_request

pytestmark = pytest.mark.unit

BASE = "https://scan.example.com"
GTIN = "09506000134352"

# The constraints of GS1's published linkset schema (ref.gs1.org/standards/resolver/
# linkset-schema), written out here: one context object per item with its anchor and
# description, link relations as lowercase tokens or URIs, each target with href and title.
_URI = "^https?://[a-zA-Z0-9./]+"
GS1_LINKSET = {
    "type": "object",
    "required": ["linkset"],
    "additionalProperties": False,
    "properties": {
        "linkset": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["anchor", "itemDescription"],
                "properties": {
                    "anchor": {"type": "string", "pattern": _URI},
                    "itemDescription": {"type": "string"},
                },
                "patternProperties": {
                    r"(?!(anchor|itemDescription))^([a-z-]+$)|(^https?://[a-zA-Z0-9./]+$)": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["href", "title"],
                            "additionalProperties": False,
                            "properties": {
                                "href": {"type": "string", "pattern": _URI},
                                "title": {"type": "string"},
                                "type": {"type": "string", "pattern": r"\w+/[-+.\w]+"},
                                "hreflang": {"type": "array", "items": {"type": "string"}},
                                "context": {"type": "array"},
                                "fwqs": {"type": "boolean"},
                                "public": {"type": "boolean"},
                            },
                        },
                    }
                },
                "additionalProperties": False,
            },
        }
    },
}


def test_a_lots_linkset_is_valid_and_names_every_link():
    request = parse_request(f"/01/{GTIN}/10/L%2F1", [])
    document = linkset(request, base_url=BASE, item_description="Vaccine, lot L/1")
    jsonschema.validate(document, GS1_LINKSET)
    (context,) = document["linkset"]
    assert context["anchor"] == f"{BASE}/01/{GTIN}/10/L%2F1"
    relations = set(context) - {"anchor", "itemDescription"}
    assert relations == {
        f"https://gs1.org/voc/{term}"
        for term in ("defaultLink", "pip", "epcis", "traceability", "certificationInfo")
        + ("relatedImage",)
    }
    pip = context["https://gs1.org/voc/pip"]
    assert {target["type"] for target in pip} == {"text/html", "application/json"}
    (qr,) = context["https://gs1.org/voc/relatedImage"]
    assert qr["href"] == f"{BASE}/qr/01/{GTIN}/10/L%2F1.svg"
    (events,) = context["https://gs1.org/voc/epcis"]
    assert events["href"].startswith(f"{BASE}/api/v1/events?MATCH_anyEPC=https%3A%2F%2Fid.gs1.org")


def test_a_products_linkset_has_only_its_page():
    document = linkset(parse_request(f"/01/{GTIN}", []), base_url=BASE, item_description="x")
    jsonschema.validate(document, GS1_LINKSET)
    (context,) = document["linkset"]
    assert context["anchor"] == f"{BASE}/01/{GTIN}"
    assert set(context) - {"anchor", "itemDescription"} == {
        "https://gs1.org/voc/defaultLink",
        "https://gs1.org/voc/pip",
    }


def test_an_invalid_linkset_fails_the_schema():
    """The schema above can fail: a target without a title is refused."""
    document = linkset(parse_request(f"/01/{GTIN}", []), base_url=BASE, item_description="x")
    del document["linkset"][0]["https://gs1.org/voc/pip"][0]["title"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, GS1_LINKSET)


@pytest.mark.parametrize(
    ("link_type", "path"),
    [
        ("gs1:traceability", f"/api/v1/trace/https%3A%2F%2Fid.gs1.org%2F01%2F{GTIN}%2F10%2FL1"),
        ("https://gs1.org/voc/relatedImage", f"/qr/01/{GTIN}/10/L1.svg"),
        ("https://ref.gs1.org/voc/pip", f"/scan/01/{GTIN}/10/L1"),
        ("gs1:recallStatus", None),
    ],
)
def test_a_link_type_in_any_spelling_finds_its_link(link_type, path):
    links = links_of(parse_request(f"/01/{GTIN}/10/L1", []))
    link = link_of_type(links, link_type)
    assert (link.path.split("?")[0] if link else None) == path


def test_terms_are_read_from_curies_and_uris():
    assert term_of("gs1:pip") == term_of("https://gs1.org/voc/pip") == term_of("pip") == "pip"


def test_the_description_file_names_the_gtin_key_and_the_vocabulary():
    description = describe_resolver(base_url=BASE, name="Provenance Ledger")
    assert description["resolverRoot"] == BASE
    assert description["supportedPrimaryKeys"] == ["01"]
    assert description["supportedLinkType"] == [
        {"namespace": "https://gs1.org/voc/", "prefix": "gs1:"}
    ]
    assert "gs1:pip" in description["linkTypes"]
