"""The resolver's catalogue over a real read model: products, walk-up lists and the public
record of a lot, indexed from a local chain."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.store.catalogue import ReadModelCatalogue
from ledger_client.db import make_engine
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import LedgerEvent, create_read_model
from ledger_client.ledger import BatchKind, EventKind
from tests.ledger_client.indexer.indexer_factories import epcis_payload, record

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
