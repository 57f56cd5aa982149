"""The Digital Link resolver on the server's root: redirects, walk-up, linkset, link types,
JSON, errors, CORS and the description file (over an in-memory catalogue)."""

from __future__ import annotations

from urllib.parse import quote

import jsonschema
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.scan.record import ScanRecord
from ledger_client.identifiers import DigitalLink
from tests.api.scan_fakes import Catalogue
from tests.api.test_resolver_links import GS1_LINKSET
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

BASE = "https://scan.example.org"
GTIN = "09506000134352"
OTHER_GTIN = "09506000134369"
LOT = DigitalLink.lot(GTIN, "L/1")
LINKSET = "application/linkset+json"


@pytest.fixture
def http() -> TestClient:
    catalogue = Catalogue({LOT: ScanRecord(uri=LOT.uri, kind="LOT", status="QUARANTINED")})
    app = create_app(FakeIngestor(), public_base_url=BASE, catalogue=catalogue)
    return TestClient(app, follow_redirects=False)


def test_a_recorded_lot_redirects_to_its_scan_page(http):
    response = http.get(f"/01/{GTIN}/10/L%2F1?17=261231")
    assert response.status_code == 307
    assert response.headers["location"] == f"/scan/01/{GTIN}/10/L%2F1?17=261231"
    assert response.headers["link"] == (
        f'<{BASE}/01/{GTIN}/10/L%2F1?linkType=linkset>; rel="linkset"; type="{LINKSET}"'
    )
    assert response.headers["access-control-allow-origin"] == "*"


def test_a_trailing_slash_and_short_names_are_tolerated(http):
    for path in (f"/01/{GTIN}/10/L%2F1/", f"/gtin/{GTIN}/lot/L%2F1"):
        response = http.get(path)
        assert response.status_code == 307, path
        assert response.headers["location"] == f"/scan/01/{GTIN}/10/L%2F1"


def test_head_answers_like_get_without_a_body(http):
    response = http.head(f"/01/{GTIN}/10/L%2F1")
    assert response.status_code == 307
    assert response.headers["location"] == f"/scan/01/{GTIN}/10/L%2F1"


def test_options_names_the_methods_for_cors(http):
    response = http.options(f"/01/{GTIN}/10/L%2F1")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert set(response.headers["access-control-allow-methods"].split(", ")) == {
        "GET",
        "HEAD",
        "OPTIONS",
    }


@pytest.mark.parametrize(
    "ask",
    [{"params": {"linkType": "linkset"}}, {"headers": {"Accept": LINKSET}}],
)
def test_the_linkset_is_valid_and_anchored_at_the_lot(http, ask):
    response = http.get(f"/01/{GTIN}/10/L%2F1", **ask)
    assert response.status_code == 200
    assert response.headers["content-type"] == LINKSET
    body = response.json()
    jsonschema.validate(body, GS1_LINKSET)
    (context,) = body["linkset"]
    assert context["anchor"] == f"{BASE}/01/{GTIN}/10/L%2F1"
    assert "https://gs1.org/voc/epcis" in context


def test_a_link_type_redirects_to_that_link_or_is_404(http):
    trace = http.get(f"/01/{GTIN}/10/L%2F1", params={"linkType": "gs1:traceability"})
    assert trace.status_code == 307
    assert trace.headers["location"] == (
        f"/api/v1/trace/{quote(LOT.uri, safe='')}?direction=backward&linkType=gs1%3Atraceability"
    )
    missing = http.get(f"/01/{GTIN}/10/L%2F1", params={"linkType": "gs1:recallStatus"})
    assert missing.status_code == 404
    assert "no gs1:recallStatus link" in missing.json()["detail"]


@pytest.mark.parametrize("media", ["application/json", "application/ld+json"])
def test_json_is_the_lots_public_record(http, media):
    response = http.get(f"/01/{GTIN}/10/L%2F1", headers={"Accept": media})
    assert response.status_code == 200
    assert response.json()["id"] == LOT.uri
    assert response.json()["status"] == "QUARANTINED"


def test_an_unrecorded_lot_of_a_known_gtin_walks_up_and_says_so(http):
    page = http.get(f"/01/{GTIN}/10/FAKE")
    assert page.status_code == 307
    assert page.headers["location"] == (
        f"/scan/01/{GTIN}?scanned={quote(DigitalLink.lot(GTIN, 'FAKE').uri, safe='')}"
    )
    record = http.get(f"/01/{GTIN}/10/FAKE", headers={"Accept": "application/json"}).json()
    assert record["kind"] == "product"
    assert record["lots"] == [LOT.uri]
    assert record["scanned"] == {"id": DigitalLink.lot(GTIN, "FAKE").uri, "recorded": False}
    links = http.get(f"/01/{GTIN}/21/FAKE", params={"linkType": "linkset"}).json()
    (context,) = links["linkset"]
    assert context["anchor"] == f"{BASE}/01/{GTIN}"
    assert "not recorded" in context["itemDescription"]


def test_an_unknown_gtin_is_404_in_json_or_html(http):
    as_json = http.get(f"/01/{OTHER_GTIN}/10/L1")
    assert as_json.status_code == 404
    assert as_json.json()["detail"] == f"GTIN {OTHER_GTIN} is not recorded on this ledger"
    as_html = http.get(f"/01/{OTHER_GTIN}", headers={"Accept": "text/html"})
    assert as_html.status_code == 404
    assert as_html.headers["content-type"].startswith("text/html")
    assert f"GTIN {OTHER_GTIN} is not recorded" in as_html.text


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/01/09506000134353/10/L1", "check digit"),
        (f"/01/{GTIN}/21/S/10/L", "wrong order"),
        (f"/01/{GTIN}/10/{'x' * 21}", "X..20"),
        (f"/01/{GTIN}/10/L1?10=L2", "belongs in the path"),
        (f"/01/{GTIN}/10/L1?17=261231&17=270101", "given twice"),
    ],
)
def test_syntax_errors_are_400_never_200(http, path, says):
    response = http.get(path)
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_a_zero_suppressed_gtin_is_moved_to_its_14_digit_form(http):
    response = http.get("/01/9506000134352/10/L%2F1?17=261231")
    assert response.status_code == 301
    assert response.headers["location"] == f"/01/{GTIN}/10/L%2F1?17=261231"


def test_another_gs1_key_is_not_served(http):
    assert http.get("/414/9506000134352").status_code == 404


def test_the_description_file_names_the_resolver(http):
    response = http.get("/.well-known/gs1resolver")
    assert response.status_code == 200
    assert response.json()["resolverRoot"] == BASE
    assert response.json()["supportedPrimaryKeys"] == ["01"]
