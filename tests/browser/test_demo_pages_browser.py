"""The demo's lots in a real browser: after `provenance demo` told its story, the node it
keeps serving shows lot A compliant and certified and lot B quarantined by its excursion."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import keep_screenshot
from tests.browser.test_scan_page_browser import assert_accessible
from tests.provenance.demo_process import ServingDemo, serving_demo

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LOT_A = "/01/09506000134352/10/VAX-A-001"
LOT_B = "/01/09506000134352/10/VAX-B-001"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[ServingDemo]:
    """One demo for the module: its story told, its node serving until the module ends."""
    with serving_demo(tmp_path_factory.mktemp("demo") / "state") as running:
        yield running


def test_lot_a_reads_as_active_with_its_credentials_and_no_excursion(browser, demo, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(360, 800)
    browser.get(demo.url + LOT_A)
    assert browser.current_url == f"{demo.url}/scan{LOT_A}"
    assert "Status: ACTIVE" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert browser.find_element(By.CSS_SELECTOR, "figure.chart svg").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "svg circle.excursion") == []
    loggers = browser.find_element(By.CSS_SELECTOR, "ul.loggers").text
    assert "60 readings" in loggers and "never out of range" in loggers
    credentials = {
        item.find_element(By.CLASS_NAME, "what").text: item.text
        for item in browser.find_elements(By.CSS_SELECTOR, "ul.credentials li")
    }
    assert set(credentials) == {"FitForUse", "ColdChainComplianceCredential"}
    assert all("✓ valid" in text for text in credentials.values()), credentials
    steps = [
        step.find_element(By.CLASS_NAME, "what").text
        for step in browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")
    ]
    assert steps[:4] == ["Commissioning", "Packing", "Shipping", "Receiving"]
    assert "Nordvax Biologics" in browser.find_element(By.CSS_SELECTOR, "ol.timeline li").text
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 360
    assert_accessible(browser)
    keep_screenshot(browser, tmp_path, "demo-lot-a-360")


def test_lot_b_reads_as_quarantined_by_its_excursion(browser, demo, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(1280, 800)
    browser.get(demo.url + LOT_B)
    banner = browser.find_element(By.CSS_SELECTOR, "[role=status]")
    assert "Status: QUARANTINED" in banner.text
    assert "cold-chain: excursion too long" in banner.text
    assert browser.find_element(By.CSS_SELECTOR, "svg rect.band").is_displayed()
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg circle.excursion")) >= 40
    assert "min out of range" in browser.find_element(By.CSS_SELECTOR, "ul.loggers").text
    (fit,) = browser.find_elements(By.CSS_SELECTOR, "ul.credentials li")
    assert "FitForUse" in fit.text and "✗ suspended" in fit.text
    # Each step's "verified" mark leads to its proof, checked against the chain.
    browser.find_element(By.CSS_SELECTOR, "ol.timeline .verified a").click()
    assert "/scan/proof/" in browser.current_url
    assert "verified" in browser.find_element(By.TAG_NAME, "main").text.lower()
    browser.back()
    assert_accessible(browser)
    keep_screenshot(browser, tmp_path, "demo-lot-b-1280")
