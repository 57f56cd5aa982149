"""Custody in the read model, on a real anvil: who held a batch, from which block and time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eth_account import Account
from sqlalchemy import delete
from sqlalchemy.orm import Session

from ledger_client.indexer import queries
from ledger_client.indexer.indexer import Indexer, IndexerError, rebuild
from ledger_client.indexer.read_model import CustodyTransfer
from ledger_client.roles import Role
from tests.factories import ANVIL_KEYS
from tests.ledger_client.indexer.indexer_factories import export_of

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-C"
OTHER_LOT = "https://id.gs1.org/01/09506000134352/10/LOT-D"


@pytest.fixture
def carriers(consortium):
    """Two more operators: a carrier and a distribution centre."""
    carrier, centre = (Account.from_key(k) for k in ANVIL_KEYS[4:6])
    for account in (carrier, centre):
        consortium.membership().grant_role(Role.OPERATOR, account.address)
    return carrier, centre


def test_custody_history_shows_who_held_the_batch_from_which_block_and_time(
    consortium, carriers, engine
):
    w3 = consortium.w3
    carrier, centre = carriers
    brand = consortium.writer()

    def moment(block_number: int) -> datetime:
        return datetime.fromtimestamp(w3.eth.get_block(block_number)["timestamp"], UTC)

    lot = brand.create_batch(LOT)
    created = w3.eth.block_number
    other = brand.create_batch(OTHER_LOT)
    brand.offer_custody(lot, centre.address)
    brand.offer_custody(lot, "0x" + "00" * 20)  # withdrawn
    brand.offer_custody(lot, carrier.address)
    accepted = consortium.writer(carrier).accept_custody(lot)
    shipped = accepted.block_number
    consortium.writer(carrier).offer_custody(lot, centre.address)
    indexer = Indexer(w3, consortium.deployment, engine)
    indexer.run_once()

    brand_address = consortium.operator.address
    with Session(engine) as session:
        history = queries.custody_history(session, batch_id=lot)
        assert history == [
            queries.CustodyPeriod(
                custodian=brand_address,
                handed_over_by=None,
                since_block=created,
                since=moment(created),
                until_block=shipped,
                until=moment(shipped),
                tx_hash=history[0].tx_hash,
            ),
            queries.CustodyPeriod(
                custodian=carrier.address,
                handed_over_by=brand_address,
                since_block=shipped,
                since=moment(shipped),
                until_block=None,
                until=None,
                tx_hash=history[1].tx_hash,
            ),
        ]
        assert history[1].tx_hash == accepted.tx_hash.lower()
        assert queries.custody_offer(session, batch_id=lot) == centre.address
        assert queries.custody_offer(session, batch_id=other) is None
        assert queries.held_by(session, custodian=carrier.address.lower()) == ["0x" + lot.hex()]
        assert queries.held_by(session, custodian=brand_address) == ["0x" + other.hex()]
        assert queries.held_by(session, custodian=centre.address) == []
        batch = queries.batch_history(session, batch_id=lot)
        assert (batch.custody, batch.offered_to) == (history, centre.address)
        assert queries.custody_history(session, batch_id="0x" + "00" * 32) == []

    received = consortium.writer(centre).accept_custody(lot).block_number
    indexer.run_once()
    with Session(engine) as session:
        history = queries.custody_history(session, batch_id=lot)
        assert [(p.custodian, p.handed_over_by) for p in history] == [
            (brand_address, None),
            (carrier.address, brand_address),
            (centre.address, carrier.address),
        ]
        assert (history[1].until_block, history[2].since_block) == (received, received)
        assert history[2].since == moment(received)
        assert queries.custody_offer(session, batch_id=lot) is None, "the accepted offer ended"
        assert queries.held_by(session, custodian=carrier.address) == []


def test_custody_rows_rebuild_byte_identical(consortium, carriers, databases):
    carrier, _ = carriers
    brand = consortium.writer()
    lot = brand.create_batch(LOT)
    engine = databases.engine()
    indexer = Indexer(consortium.w3, consortium.deployment, engine, chunk_blocks=1)
    indexer.run_once()
    brand.offer_custody(lot, carrier.address)
    consortium.writer(carrier).accept_custody(lot)
    indexer.run_once()
    indexed = export_of(engine)
    assert indexed.count(b'"table":"custody_transfer"') == 2
    assert indexed.count(b'"table":"custody_offer"') == 1

    rebuilt = databases.engine()
    rebuild(consortium.w3, consortium.deployment, rebuilt)
    assert export_of(rebuilt) == indexed


def test_a_read_model_indexed_before_custody_is_refused_until_rebuilt(consortium, engine):
    """Batches indexed by an indexer that did not keep custody have no transfer rows; going
    on from their checkpoint would leave their custody history missing for good."""
    lot = consortium.writer().create_batch(LOT)
    Indexer(consortium.w3, consortium.deployment, engine).run_once()
    with Session(engine) as session:
        session.execute(delete(CustodyTransfer))
        session.commit()

    with pytest.raises(IndexerError, match="run `provenance index rebuild`"):
        Indexer(consortium.w3, consortium.deployment, engine).run_once()

    rebuild(consortium.w3, consortium.deployment, engine)
    with Session(engine) as session:
        [period] = queries.custody_history(session, batch_id=lot)
    assert period.custodian == consortium.operator.address
