"""The read model is a function of the chain: deleting it and rebuilding gives the same bytes."""

from __future__ import annotations

import pytest

from ledger_client.indexer.indexer import Indexer, rebuild
from ledger_client.ledger import BatchKind, EventKind
from tests.ledger_client.indexer.indexer_factories import epcis_payload, export_of, record

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-R"
ITEM = "https://id.gs1.org/01/09506000134352/21/SN-R"
EVENTS = 300


def test_delete_the_database_and_rebuild_from_chain_byte_identical(consortium, databases):
    writer = consortium.writer()
    writer.max_tx_bytes = 8_000  # many transactions and blocks
    lot = writer.create_batch(LOT)
    record(writer, lot, [epcis_payload(i, minute=i % 60) for i in range(EVENTS // 2)])
    engine = databases.engine()
    indexer = Indexer(consortium.w3, consortium.deployment, engine)
    indexer.run_once()
    item = writer.create_batch(ITEM, kind=BatchKind.ITEM, parents=[lot])
    record(writer, item, [epcis_payload(i, biz_step="packing") for i in range(EVENTS // 2)])
    consortium.writer(consortium.quality).quarantine(item, "seal broken")
    record(writer, item, [epcis_payload(999, biz_step="inspecting")], EventKind.INSPECTION)
    indexer.run_once()
    indexed = export_of(engine)
    assert indexed.count(b'"table":"ledger_event"') == EVENTS + 1

    databases.delete(engine)
    progress = rebuild(consortium.w3, consortium.deployment, engine)

    assert progress.events == EVENTS + 1
    assert export_of(engine) == indexed
