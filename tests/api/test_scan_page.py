"""The scan page (`/scan/01/…`): what the public sees of a lot, and of a product whose
scanned lot is not recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.scan.record import Party, ScanRecord, StatusMove, Step
from ledger_client.identifiers import DigitalLink
from tests.api.scan_fakes import Catalogue
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

BASE = "https://scan.example.org"
GTIN = "09506000134352"
LOT = DigitalLink.lot(GTIN, "L/1")
VIALS = DigitalLink.lot(GTIN, "V<1>")
MAKER = Party("Acme Pharma", "did:pkh:eip155:31337:0xAbC")
STEP = Step(
    what="commissioning",
    kind="OTHER",
    when=datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
    by=MAKER,
    event_index=0,
    tx_hash="0x" + "ab" * 32,
    block_number=42,
    log_index=1,
)


@pytest.fixture
def http() -> TestClient:
    quarantined = ScanRecord(
        uri=LOT.uri,
        kind="LOT",
        status="QUARANTINED",
        steps=[STEP],
        status_moves=[StatusMove("QUARANTINED", "excursion: 9.1 °C for 40 min", None, 50)],
        children=[VIALS.uri],
    )
    vials = ScanRecord(uri=VIALS.uri, kind="LOT", status="ACTIVE", parents=[LOT.uri])
    catalogue = Catalogue({LOT: quarantined, VIALS: vials})
    return TestClient(create_app(FakeIngestor(), public_base_url=BASE, catalogue=catalogue))


def test_a_lots_page_shows_status_steps_genealogy_and_its_qr(http):
    response = http.get(f"/scan/01/{GTIN}/10/L%2F1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'role="status"' in page
    assert "Status: QUARANTINED" in page
    assert "excursion: 9.1 °C for 40 min" in page
    assert "commissioning" in page and "Acme Pharma" in page and MAKER.did in page
    assert "2026-11-21 09:30 UTC" in page
    short = f"{STEP.tx_hash[:10]}…{STEP.tx_hash[-8:]}"
    assert f'transaction <code title="{STEP.tx_hash}">{short}</code>, block 42' in page
    # The child's lot value is escaped in the page and percent-encoded in its link.
    assert f'href="/scan/01/{GTIN}/10/V%3C1%3E"' in page
    assert "V&lt;1&gt;" in page
    assert (
        f'<img src="/qr/01/{GTIN}/10/L%2F1.svg" alt="QR code of {BASE}/01/{GTIN}/10/L%2F1">' in page
    )
    assert "<script" not in page and "http://" not in page.replace(BASE, "")


def test_each_step_says_whether_it_matches_the_ledger(http):
    catalogue = http.app.state.catalogue
    altered = replace(STEP, what="shipping", event_index=1, matches_ledger=False)
    catalogue.records[LOT] = replace(catalogue.records[LOT], steps=[STEP, altered])
    page = http.get(f"/scan/01/{GTIN}/10/L%2F1").text
    assert page.count("✓ Verified on the ledger") == 1
    assert page.count("Does not match the ledger") == 1
    assert page.index("Verified on the ledger") < page.index("Does not match the ledger")


def test_the_page_answers_json_too(http):
    response = http.get(f"/scan/01/{GTIN}/10/L%2F1", headers={"Accept": "application/json"})
    assert response.json()["status"] == "QUARANTINED"
    assert response.json()["steps"][0]["by"] == {"name": MAKER.name, "did": MAKER.did}


def test_a_walk_up_warns_that_the_scanned_lot_is_not_recorded(http):
    fake = DigitalLink.lot(GTIN, "FAKE-9")
    page = http.get(f"/scan/01/{GTIN}", params={"scanned": fake.uri}).text
    assert "Not recorded on the ledger: FAKE-9" in page
    assert "counterfeit" in page
    assert f'href="/scan/01/{GTIN}/10/L%2F1"' in page
    direct = http.get(f"/scan/01/{GTIN}/10/FAKE-9").text
    assert "Not recorded on the ledger: FAKE-9" in direct


@pytest.mark.parametrize(
    "scanned",
    [LOT.uri, DigitalLink.lot("09506000134369", "X").uri, "not a link"],
)
def test_a_link_cannot_make_a_recorded_or_foreign_lot_look_counterfeit(http, scanned):
    page = http.get(f"/scan/01/{GTIN}?scanned={quote(scanned, safe='')}").text
    assert "Not recorded on the ledger" not in page
    assert "Lots and items recorded for this product" in page


def test_unknown_gtins_and_bad_links_are_refused(http):
    unknown = http.get("/scan/01/09506000134369/10/L1", headers={"Accept": "text/html"})
    assert unknown.status_code == 404
    assert "is not recorded on this ledger" in unknown.text
    bad = http.get("/scan/01/09506000134353/10/L1")
    assert bad.status_code == 400
    assert "check digit" in bad.json()["detail"]


def test_pages_are_revalidated_by_etag_and_change_with_the_status(http):
    path = f"/scan/01/{GTIN}/10/L%2F1"
    for accept in ("text/html", "application/json"):
        first = http.get(path, headers={"Accept": accept})
        assert first.headers["cache-control"] == "no-cache"
        etag = first.headers["etag"]
        again = http.get(path, headers={"Accept": accept, "If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
    catalogue = http.app.state.catalogue
    catalogue.records[LOT] = ScanRecord(uri=LOT.uri, kind="LOT", status="RELEASED")
    after = http.get(path, headers={"Accept": "application/json", "If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["status"] == "RELEASED"
