"""The resolver's catalogue over a real read model: products, walk-up lists and the public
record of a lot, indexed from a local chain."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.app import create_app
from api.rate_limit import RateLimiter
from api.scan.answers import ScanAnswers
from api.store.catalogue import ReadModelCatalogue
from ledger_client.db import make_engine
from ledger_client.epcis_query.archive import EventArchive
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import LedgerEvent, create_read_model
from ledger_client.ledger import BatchKind, EventKind
from tests.ledger_client.indexer.indexer_factories import epcis_payload, record
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration

GTIN = "09506000134352"
LOT = DigitalLink.lot(GTIN, "SCAN-A")
OTHER_LOT = DigitalLink.lot(GTIN, "SCAN-B")
ITEM = DigitalLink.item(GTIN, "SCAN-1")


@pytest.fixture
def catalogue(consortium, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'read_model.db'}")
    create_read_model(engine)
    operator = consortium.operator.address
    consortium.membership().register_organization(
        operator, did=f"did:pkh:eip155:31337:{operator}", name="Acme Pharma"
    )
    writer = consortium.writer()
    lot = writer.create_batch(LOT.uri, product_class=keccak(text="vaccine"))
    writer.create_batch(OTHER_LOT.uri)
    writer.create_batch(ITEM.uri, kind=BatchKind.ITEM, parents=[lot])
    record(writer, lot, [epcis_payload(1, biz_step="commissioning"), epcis_payload(2, minute=5)])
    consortium.writer(consortium.quality).quarantine(lot, "excursion 9.1 °C")
    record(writer, lot, [epcis_payload(3, biz_step="inspecting")], EventKind.INSPECTION)
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    try:
        yield ReadModelCatalogue(engine)
    finally:
        engine.dispose()


def test_a_product_lists_its_lots_and_items_and_no_other_gtins(catalogue):
    assert [batch.uri for batch in catalogue.product(GTIN)] == sorted(
        [LOT.uri, OTHER_LOT.uri, ITEM.uri]
    )
    assert catalogue.product("09506000134369") == []


def test_a_lots_record_has_its_status_steps_and_children(catalogue, consortium):
    record_ = catalogue.record(LOT)
    assert record_ is not None
    assert record_.status == "QUARANTINED"
    assert record_.last_move.reason == "excursion 9.1 °C"
    assert [step.what for step in record_.steps] == ["commissioning", "shipping", "inspecting"]
    assert [step.kind for step in record_.steps] == ["OTHER", "OTHER", "INSPECTION"]
    assert {step.by.name for step in record_.steps} == {"Acme Pharma"}
    assert record_.steps[0].by.did.endswith(consortium.operator.address)
    assert record_.children == [ITEM.uri]
    assert record_.parents == []
    receipt = consortium.w3.eth.get_transaction_receipt(record_.steps[0].tx_hash)
    assert receipt.blockNumber == record_.steps[0].block_number


def test_a_payload_altered_in_the_read_model_no_longer_matches_the_ledger(catalogue):
    assert all(step.matches_ledger for step in catalogue.record(LOT).steps)
    with Session(catalogue.engine) as session, session.begin():
        session.execute(
            update(LedgerEvent)
            .where(LedgerEvent.event_index == 1)
            .values(payload=LedgerEvent.payload + " ")
        )
    steps = catalogue.record(LOT).steps
    assert [step.matches_ledger for step in steps] == [True, False, True]


def test_an_unrecorded_lot_has_no_record(catalogue):
    assert catalogue.record(DigitalLink.lot(GTIN, "FAKE")) is None
    assert catalogue.record(ITEM).parents == [LOT.uri]


@pytest.fixture
def scan_site(catalogue, consortium):
    archive = EventArchive(catalogue.engine, consortium.w3, consortium.deployment)
    app = create_app(
        FakeIngestor(),
        catalogue=catalogue,
        event_archive=archive,
        scan_answers=ScanAnswers(recheck_s=10, clock=lambda: NOW[0]),
        proof_limiter=RateLimiter(per_s=0.001, burst=6, clock=lambda: NOW[0]),
    )
    return TestClient(app)


NOW = [0.0]


def _alter_step_1(catalogue):
    with Session(catalogue.engine) as session, session.begin():
        session.execute(
            update(LedgerEvent)
            .where(LedgerEvent.event_index == 1)
            .values(payload=LedgerEvent.payload + " ")
        )


def test_a_kept_page_follows_the_lot_at_once_and_rechecks_its_records(
    scan_site, catalogue, consortium
):
    page = f"/scan/01/{GTIN}/10/SCAN-A"
    assert scan_site.get(page).text.count("✓ Verified on the ledger") == 3
    # A new step indexed: the page changes at once.
    record(consortium.writer(), LOT.batch_id, [epcis_payload(4)], EventKind.INSPECTION)
    Indexer(consortium.w3, consortium.deployment, catalogue.engine).run_once()
    assert scan_site.get(page).text.count("✓ Verified on the ledger") == 4
    # A record altered behind the indexer's back is caught at the page's next recheck.
    _alter_step_1(catalogue)
    NOW[0] += 10
    text = scan_site.get(page).text
    assert text.count("✓ Verified on the ledger") == 3
    assert text.count("Does not match the ledger") == 1
    json_steps = scan_site.get(page, headers={"Accept": "application/json"}).json()["steps"]
    assert [step["matchesLedger"] for step in json_steps] == [True, False, True, True]


def test_each_verified_mark_links_to_a_proof_read_from_the_chain(scan_site, catalogue):
    page = scan_site.get(f"/scan/01/{GTIN}/10/SCAN-A").text
    batch = "0x" + LOT.batch_id.hex()
    assert page.count(f'href="/scan/proof/{batch}/') == 3
    proof = scan_site.get(f"/scan/proof/{batch}/1")
    assert proof.status_code == 200
    assert "✓ Verified on the ledger" in proof.text
    step = catalogue.record(LOT).steps[1]
    assert step.tx_hash in proof.text
    _alter_step_1(catalogue)
    altered = scan_site.get(f"/scan/proof/{batch}/1").text
    assert "Does not match the ledger" in altered
    assert "the payload in the read model is not the one anchored" in altered


def test_a_proof_of_no_step_is_refused(scan_site):
    batch = "0x" + LOT.batch_id.hex()
    assert scan_site.get(f"/scan/proof/{batch}/99").status_code == 404
    assert scan_site.get("/scan/proof/0x12/0").status_code == 400
    assert scan_site.get(f"/scan/proof/0x{'zz' * 32}/0").status_code == 400
    assert scan_site.get(f"/scan/proof/{batch}/-1").status_code == 400


def test_public_proofs_are_rate_limited_per_client(scan_site):
    batch = "0x" + LOT.batch_id.hex()
    answers = [scan_site.get(f"/scan/proof/{batch}/0").status_code for _ in range(7)]
    assert answers == [200] * 6 + [429]
    refused = scan_site.get(f"/scan/proof/{batch}/0", headers={"Accept": "text/html"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Too Many Requests" in refused.text and "retry in" in refused.text
