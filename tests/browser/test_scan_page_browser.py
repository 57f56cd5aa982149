"""The scan page in a real browser, at a phone's width and a desktop's: what a person sees."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from api.app import create_app
from api.scan.record import Party, ScanRecord, StatusMove, Step
from ledger_client.identifiers import DigitalLink
from oracle_bridge.batch_readings import DeviceSummary, TemperatureSeries
from tests.api.scan_fakes import Catalogue, Readings, warm_excursion
from tests.browser.conftest import assert_accessible, keep_screenshot
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.browser

GTIN = "09506000134352"
LOT_A = DigitalLink.lot(GTIN, "LOT-A")
LOT_B = DigitalLink.lot(GTIN, "LOT-B")
MAKER = Party(
    "Northwind Vaccines", "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
)
CARRIER = Party(
    "Polar Logistics", "did:pkh:eip155:31337:0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
)
STEP = Step(
    what="commissioning",
    kind="OTHER",
    when=datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
    by=MAKER,
    event_index=0,
    tx_hash="0x" + "5e" * 32,
    block_number=41,
    log_index=0,
)
STEPS = [
    STEP,
    replace(STEP, what="packing", event_index=1, when=datetime(2026, 11, 21, 9, 0, tzinfo=UTC)),
    replace(STEP, what="shipping", event_index=2, by=CARRIER, block_number=44),
]


@pytest.fixture
def site(serve) -> str:
    quarantined = ScanRecord(
        uri=LOT_B.uri,
        kind="LOT",
        status="QUARANTINED",
        steps=STEPS,
        status_moves=[
            StatusMove("QUARANTINED", "cold-chain excursion: 9.4 °C for 40 min", None, 57)
        ],
    )
    compliant = ScanRecord(uri=LOT_A.uri, kind="LOT", status="ACTIVE", steps=STEPS)
    catalogue = Catalogue({LOT_A: compliant, LOT_B: quarantined})
    start = int(datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp())
    steady = TemperatureSeries([(start + 60 * i, 4.5 + (i % 7) / 5) for i in range(120)], (2, 8))
    readings = Readings(
        {LOT_A.batch_id: steady, LOT_B.batch_id: warm_excursion(start)},
        {
            LOT_A.batch_id: [logger(steady, 0)],
            LOT_B.batch_id: [logger(warm_excursion(start), 2400)],
        },
    )
    base = "http://127.0.0.1"  # the QR codes name the public base; the pages are served below
    app = create_app(
        FakeIngestor(), public_base_url=base, catalogue=catalogue, readings_reader=readings
    )
    return serve(app)


def logger(series: TemperatureSeries, out_of_range_s: int) -> DeviceSummary:
    temperatures = [celsius for _, celsius in series.points]
    return DeviceSummary(
        device="0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        readings=len(temperatures),
        first_timestamp=series.points[0][0],
        last_timestamp=series.points[-1][0],
        min_c=min(temperatures),
        max_c=max(temperatures),
        mean_kinetic_c=sum(temperatures) / len(temperatures),
        seconds_out_of_range=out_of_range_s,
    )


@pytest.mark.parametrize(("width", "height"), [(360, 800), (1280, 800)])
def test_a_quarantined_lot_reads_as_quarantined_at_any_width(
    browser, site, tmp_path, width, height
):
    from selenium.webdriver.common.by import By

    browser.set_window_size(width, height)
    # As a scan does: the resolver's path, redirected to the scan page.
    browser.get(f"{site}/01/{GTIN}/10/LOT-B")
    assert browser.current_url == f"{site}/scan/01/{GTIN}/10/LOT-B"
    banner = browser.find_element(By.CSS_SELECTOR, "[role=status]")
    assert banner.is_displayed()
    # The status is in words, not in colour alone.
    assert "QUARANTINED" in banner.text
    assert "9.4 °C for 40 min" in banner.text
    steps = browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")
    assert [s.find_element(By.CLASS_NAME, "what").text for s in steps] == [
        "Commissioning",
        "Packing",
        "Shipping",
    ]
    assert all(step.is_displayed() for step in steps)
    assert "Polar Logistics" in steps[2].text
    chart = browser.find_element(By.CSS_SELECTOR, "figure.chart svg")
    assert chart.is_displayed() and chart.size["width"] > 0.8 * min(width, 736) - 40
    assert browser.find_element(By.CSS_SELECTOR, "svg rect.band").is_displayed()
    excursions = browser.find_elements(By.CSS_SELECTOR, "svg circle.excursion")
    assert len(excursions) == 40
    assert "40.0 min out of range" in browser.find_element(By.CSS_SELECTOR, "ul.loggers").text
    # Nothing wider than the screen: readable on a phone without scrolling sideways.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    assert_accessible(browser)
    # The README's pictures are of real lots (test_scan_real_lots.py); this one only renders.
    picture = tmp_path / "quarantined.png"
    assert browser.save_screenshot(str(picture)) and picture.stat().st_size > 5_000


def test_a_compliant_lot_and_a_counterfeit_scan(browser, site, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(360, 800)
    browser.get(f"{site}/01/{GTIN}/10/LOT-A")
    assert "Status: ACTIVE" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert browser.find_elements(By.CSS_SELECTOR, "svg circle.excursion") == []
    assert "never out of range" in browser.find_element(By.CSS_SELECTOR, "ul.loggers").text
    browser.get(f"{site}/01/{GTIN}/10/LOT-X")
    warning = browser.find_element(By.CSS_SELECTOR, "[role=status]")
    assert "Not recorded on the ledger: LOT-X" in warning.text
    lots = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "ul.links a")]
    assert lots == [f"lot LOT-A of {GTIN}", f"lot LOT-B of {GTIN}"]
    assert_accessible(browser)
    keep_screenshot(browser, tmp_path, "scan-unrecorded-360")
