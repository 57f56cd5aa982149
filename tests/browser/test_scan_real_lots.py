"""The scan pages of lots built through the real stack, in a real browser: a local anvil, the
bridge taking device-signed readings (one lot's excursion quarantines it on chain), the
indexer's read model, credentials anchored and verified on chain, at a phone's width and a
desktop's."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from sqlalchemy import Engine, func, update
from sqlalchemy.orm import Session

from api.app import create_app
from api.principals import chain_standing
from api.store.catalogue import ReadModelCatalogue
from api.store.database import create_api_tables
from api.store.tokens import TokenStore
from credentials.registry import CredentialRegistryClient
from credentials.store import CredentialStore, create_credential_tables
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.db import make_engine
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.lots import ReadModelLots
from ledger_client.indexer.read_model import LedgerEvent, create_read_model
from ledger_client.ledger import BatchStatus
from ledger_client.roles import Role
from oracle_bridge.batch_readings import BatchReadings
from oracle_bridge.contracts import ComplianceRulesView
from oracle_bridge.device import DeviceKey
from oracle_bridge.readings import Reading, to_json
from provenance.node import batch_rule
from tests.browser.conftest import assert_accessible, keep_screenshot, served
from tests.credentials.credential_factories import fit_for_use
from tests.factories import ANVIL_KEYS, VACCINE_CLASS, VACCINE_RULE, make_consortium
from tests.ledger_client.indexer.indexer_factories import epcis_payload, record
from tests.oracle_bridge.runtime.bridge_runtime_factories import ColdChain

pytestmark = [pytest.mark.browser, pytest.mark.integration]

GTIN = "09506000134352"
HELD = DigitalLink.lot(GTIN, "REAL-HELD")
FINE = DigitalLink.lot(GTIN, "REAL-FINE")
ALTERED = DigitalLink.lot(GTIN, "REAL-ALTERED")
STEPS = ["commissioning", "packing", "shipping"]
READINGS = 96  # every 5 minutes for 8 hours


@dataclass(frozen=True)
class Site:
    url: str
    read_model: Engine
    token: str


def _readings(device: DeviceKey, lot: DigitalLink, *, start: int, warm: bool) -> list[Reading]:
    """A day's curve around 5 °C; `warm`: 30 minutes at 11.5 °C in the middle (the vaccine
    rule allows 15)."""
    return [
        Reading(
            device.address,
            lot.batch_id,
            seq,
            start + 300 * seq,
            11_500 if warm and 40 <= seq <= 46 else round(5_000 + 1_200 * math.sin(seq / 9)),
            500,
        )
        for seq in range(1, READINGS + 1)
    ]


@pytest.fixture(scope="module")
def site(w3, tmp_path_factory) -> Iterator[Site]:
    c = make_consortium(w3)
    membership = c.membership()
    for account, name in ((c.operator, "Northwind Vaccines"), (c.quality, "Polar Quality Lab")):
        did = f"did:pkh:eip155:{c.deployment.chain_id}:{account.address}"
        membership.register_organization(account.address, did=did, name=name)
    membership.grant_role(Role.ISSUER, c.quality.address)
    CredentialRegistryClient(c.sender(c.governor), c.deployment).set_trusted(
        c.quality.address, CredentialType.FIT_FOR_USE.value, True
    )
    c.set_rule(VACCINE_CLASS, VACCINE_RULE)
    writer = c.writer()
    for lot in (HELD, FINE, ALTERED):
        writer.create_batch(lot.uri, product_class=VACCINE_CLASS)
        record(writer, lot.batch_id, [epcis_payload(n, biz_step=s) for n, s in enumerate(STEPS)])
    credentials = [fit_for_use(c, lot, create_lot=False)[0] for lot in (HELD, FINE)]

    cold_chain = ColdChain(c, Account.from_key(ANVIL_KEYS[4]))
    scratch = tmp_path_factory.mktemp("real-lots")
    bridge = cold_chain.bridge(make_engine(f"sqlite:///{scratch / 'bridge.db'}"))
    read_model = make_engine(f"sqlite:///{scratch / 'read_model.db'}")
    create_read_model(read_model)
    api_engine = make_engine(f"sqlite:///{scratch / 'api.db'}")
    create_api_tables(api_engine)
    tokens = TokenStore(api_engine)
    token = tokens.issue(
        organization=f"did:pkh:eip155:{c.deployment.chain_id}:{c.quality.address}",
        role=Role.QUALITY,
        chain_id=c.deployment.chain_id,
    ).token
    store_engine = make_engine(f"sqlite:///{scratch / 'credentials.db'}")
    create_credential_tables(store_engine)
    store = CredentialStore(store_engine)
    for credential in credentials:
        store.add(credential)
    try:
        start = int(time.time()) - 300 * (READINGS + 2)
        for lot, warm in ((HELD, True), (FINE, False)):
            device = cold_chain.device(lot.batch_id)
            signed = [
                to_json(device.sign(r, domain=bridge.domain)).encode()
                for r in _readings(device, lot, start=start, warm=warm)
            ]
            results = bridge.ingestor.accept_many(signed, source="test")
            assert {result.status for result in results} == {"accepted"}, results[:3]
        bridge.run_once()
        assert c.writer().batch(HELD.batch_id).status is BatchStatus.QUARANTINED
        assert c.writer().batch(FINE.batch_id).status is BatchStatus.ACTIVE
        Indexer(c.w3, c.deployment, read_model).run_once()
        app = create_app(
            bridge,
            tokens=tokens,
            standing=chain_standing(c.w3, c.deployment),
            catalogue=ReadModelCatalogue(read_model),
            credential_store=store,
            credential_verifier=CredentialVerifier(c.w3, c.deployment),
            event_archive=EventArchive(read_model, c.w3, c.deployment),
            readings_reader=BatchReadings(
                bridge.engine,
                w3=c.w3,
                deployment=c.deployment,
                rule_of=batch_rule(
                    ReadModelLots(read_model), ComplianceRulesView(c.w3, c.deployment)
                ),
            ),
        )
        with served(app) as url:
            yield Site(url, read_model, token)
    finally:
        bridge.close()
        read_model.dispose()
        api_engine.dispose()
        store_engine.dispose()


def _open(browser, site: Site, lot: DigitalLink, width: int) -> None:
    browser.set_window_size(width, 800)
    browser.get(f"{site.url}/01/{GTIN}/10/{lot.value}")
    assert browser.current_url == f"{site.url}/scan/01/{GTIN}/10/{lot.value}"


def _common(browser, width: int) -> None:
    """What every recorded lot's page shows, visibly, at any width."""
    from selenium.webdriver.common.by import By

    steps = browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")
    assert [s.find_element(By.CLASS_NAME, "what").text.lower() for s in steps] == STEPS
    assert all(step.is_displayed() for step in steps)
    assert all("Northwind Vaccines" in step.text for step in steps)
    assert all("✓ Verified on the ledger" in step.text for step in steps)
    chart = browser.find_element(By.CSS_SELECTOR, "figure.chart svg")
    assert chart.is_displayed() and chart.size["width"] > 0.8 * min(width, 736) - 40
    assert browser.find_element(By.CSS_SELECTOR, "svg rect.band").is_displayed()
    (credential,) = browser.find_elements(By.CSS_SELECTOR, "ul.credentials li")
    assert credential.is_displayed() and "FitForUse" in credential.text
    # Nothing wider than the screen: readable on a phone without scrolling sideways.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    assert_accessible(browser)


@pytest.mark.parametrize("width", [360, 1280])
def test_a_lot_quarantined_by_its_readings(browser, site, tmp_path, width):
    from selenium.webdriver.common.by import By

    _open(browser, site, HELD, width)
    banner = browser.find_element(By.CSS_SELECTOR, "[role=status]")
    assert banner.is_displayed()
    # The status in words, not in colour alone, with the rule's reason.
    assert "Status: QUARANTINED" in banner.text
    assert "cold-chain: excursion too long" in banner.text
    _common(browser, width)
    excursions = browser.find_elements(By.CSS_SELECTOR, "svg circle.excursion")
    assert len(excursions) == 7
    assert "min out of range" in browser.find_element(By.CSS_SELECTOR, "ul.loggers").text
    # Its FitForUse is suspended with the lot, read from the chain now.
    assert "✗ suspended" in browser.find_element(By.CSS_SELECTOR, "ul.credentials").text
    keep_screenshot(browser, tmp_path, f"scan-quarantined-{width}", whole=True)


@pytest.mark.parametrize("width", [360, 1280])
def test_a_compliant_lot_and_the_proof_of_its_steps(browser, site, tmp_path, width):
    from selenium.webdriver.common.by import By

    _open(browser, site, FINE, width)
    assert "Status: ACTIVE" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    _common(browser, width)
    assert browser.find_elements(By.CSS_SELECTOR, "svg circle.excursion") == []
    assert "never out of range" in browser.find_element(By.CSS_SELECTOR, "ul.loggers").text
    assert "✓ valid" in browser.find_element(By.CSS_SELECTOR, "ul.credentials").text
    keep_screenshot(browser, tmp_path, f"scan-compliant-{width}", whole=True)
    shipping = browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")[2]
    transaction = shipping.find_element(By.CSS_SELECTOR, ".ledger code").get_attribute("title")
    shipping.find_element(By.LINK_TEXT, "✓ Verified on the ledger").click()
    assert "/scan/proof/0x" in browser.current_url
    verdict = browser.find_element(By.CSS_SELECTOR, "[role=status]")
    assert "✓ Verified on the ledger" in verdict.text
    assert transaction in browser.find_element(By.TAG_NAME, "dl").text
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    keep_screenshot(browser, tmp_path, f"scan-proof-{width}")


def test_a_record_altered_in_the_read_model_does_not_match_the_ledger(browser, site, tmp_path):
    from selenium.webdriver.common.by import By

    with Session(site.read_model) as session, session.begin():
        session.execute(
            update(LedgerEvent)
            .where(LedgerEvent.batch_id == "0x" + ALTERED.batch_id.hex())
            .where(LedgerEvent.event_index == 1)
            .values(payload=func.replace(LedgerEvent.payload, "packing", "shipping"))
        )
    _open(browser, site, ALTERED, 360)
    steps = browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")
    assert len(steps) == 3
    assert "✓ Verified on the ledger" in steps[0].text
    mismatch = steps[1].find_element(By.CSS_SELECTOR, "[role=alert]")
    assert mismatch.is_displayed() and "Does not match the ledger" in mismatch.text
    assert "Verified on the ledger" not in steps[1].text
    assert "✓ Verified on the ledger" in steps[2].text
    assert_accessible(browser)
    keep_screenshot(browser, tmp_path, "scan-altered-360")


def test_a_member_with_a_token_also_sees_records_and_raw_readings(browser, site, tmp_path):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {site.token}"}}
    )
    try:
        _open(browser, site, HELD, 360)
        records = browser.find_elements(By.CSS_SELECTOR, "ol.timeline details.record")
        assert len(records) == 3
        records[0].find_element(By.TAG_NAME, "summary").click()
        assert '"bizStep": "commissioning"' in records[0].find_element(By.TAG_NAME, "pre").text
        readings = browser.find_element(By.CSS_SELECTOR, "details.readings summary")
        assert readings.text == f"All {READINGS} signed readings"
        readings.click()
        table = browser.find_element(By.CSS_SELECTOR, "table.readings")
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == READINGS and "11.500" in table.text
        # The wide table scrolls in its own box; the page does not.
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 360
        assert_accessible(browser)
        keep_screenshot(browser, tmp_path, "scan-member-360")
    finally:
        browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
    _open(browser, site, HELD, 360)
    assert browser.find_elements(By.CSS_SELECTOR, "details.record") == []
