"""Chain reorganisations: rows of dropped blocks disappear, the replacement chain's rows appear.

These tests rewrite chain history, so they run on an anvil of their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from ledger_client.chain import connect, rpc
from ledger_client.indexer import queries
from ledger_client.indexer.indexer import Indexer, rebuild
from ledger_client.indexer.read_model import Batch, IndexedBlock, LedgerEvent
from ledger_client.ledger import EventKind
from ledger_client.local_chain import running_anvil
from ledger_client.nonces import NonceManager
from ledger_client.roles import Role
from tests.ledger_client.indexer.indexer_factories import epcis_payload, export_of, record

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-F"
DROPPED = "https://id.gs1.org/01/09506000134352/10/LOT-DROPPED"
REPLACEMENT = "https://id.gs1.org/01/09506000134352/10/LOT-REPLACEMENT"


@pytest.fixture(scope="module")
def w3(compiled: None) -> Iterator[Web3]:
    """Overrides the session's chain: snapshots and reverts here must not touch other tests."""
    with running_anvil() as chain:
        yield connect(chain.rpc_url)


def revert(consortium, snapshot: str) -> None:
    """Revert the chain to `snapshot`."""
    assert rpc(consortium.w3, "anvil_revert", [snapshot]) is True
    resync_nonces(consortium)


def reorg(consortium, depth: int) -> None:
    """Replace the last `depth` blocks with empty ones; their transactions are gone."""
    rpc(consortium.w3, "anvil_reorg", [depth, []])
    resync_nonces(consortium)


def resync_nonces(consortium) -> None:
    # Nonce managers are process-wide: read every actor's nonce again from the new chain.
    for account in (consortium.governor, consortium.operator, consortium.quality):
        NonceManager.of(consortium.w3, account.address).resync()


def payloads_of(engine, batch_id: bytes) -> list[bytes]:
    with Session(engine) as session:
        history = queries.batch_history(session, batch_id=batch_id)
    return [e.payload.encode() for e in history.events]


def batch_uris(engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(Batch.uri)))


def assert_matches_node(w3: Web3, engine) -> None:
    """Every block hash the read model stored is the node's."""
    with Session(engine) as session:
        stored = session.execute(select(IndexedBlock.number, IndexedBlock.hash)).all()
    for number, block_hash in stored:
        assert w3.eth.get_block(number)["hash"].to_0x_hex() == block_hash


def test_revert_to_a_longer_replacement_chain(w3, consortium, databases):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    record(writer, lot, [epcis_payload(0), epcis_payload(1)])
    engine = databases.engine()
    indexer = Indexer(w3, consortium.deployment, engine)
    indexer.run_once()
    fork_base = w3.eth.block_number

    snapshot = rpc(w3, "anvil_snapshot", [])
    writer.create_batch(DROPPED)
    record(writer, lot, [epcis_payload(10), epcis_payload(11)])
    consortium.writer(consortium.quality).quarantine(lot, "dropped with its block")
    indexer.run_once()
    assert DROPPED in batch_uris(engine)
    with Session(engine) as session:
        assert queries.batch_status(session, batch_id=lot) == "QUARANTINED"

    revert(consortium, snapshot)
    writer.create_batch(REPLACEMENT)
    record(writer, lot, [epcis_payload(20), epcis_payload(21), epcis_payload(22)])
    rpc(w3, "anvil_mine", [hex(5)])

    progress = indexer.run_once()

    assert progress.rewound_to is not None and progress.rewound_to <= fork_base
    assert progress.checkpoint == w3.eth.block_number
    assert batch_uris(engine) == {LOT, REPLACEMENT}
    assert payloads_of(engine, lot) == [epcis_payload(i) for i in (0, 1, 20, 21, 22)]
    with Session(engine) as session:
        assert queries.batch_status(session, batch_id=lot) == "ACTIVE"
    assert_matches_node(w3, engine)
    rebuilt = databases.engine()
    rebuild(w3, consortium.deployment, rebuilt)
    assert export_of(engine) == export_of(rebuilt)


def test_revert_to_a_shorter_chain_below_the_checkpoint(w3, consortium, databases):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    engine = databases.engine()
    indexer = Indexer(w3, consortium.deployment, engine)
    indexer.run_once()

    snapshot = rpc(w3, "anvil_snapshot", [])
    for i in range(4):
        record(writer, lot, [epcis_payload(i)])
    before = indexer.run_once()
    assert before.events == 4

    revert(consortium, snapshot)
    record(writer, lot, [epcis_payload(100)])
    assert w3.eth.block_number < before.checkpoint

    progress = indexer.run_once()

    assert progress.rewound_to is not None
    assert progress.checkpoint == w3.eth.block_number
    assert payloads_of(engine, lot) == [epcis_payload(100)]
    assert_matches_node(w3, engine)


def test_same_height_reorg_replaces_the_tip(w3, consortium, databases):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    record(writer, lot, [epcis_payload(0)])
    record(writer, lot, [epcis_payload(1)])
    record(writer, lot, [epcis_payload(2)])
    engine = databases.engine()
    indexer = Indexer(w3, consortium.deployment, engine)
    head = indexer.run_once().checkpoint

    reorg(consortium, 2)

    progress = indexer.run_once()
    assert w3.eth.block_number == head
    assert progress.rewound_to == head - 2
    assert payloads_of(engine, lot) == [epcis_payload(0)]
    assert_matches_node(w3, engine)


def test_a_reorged_custody_transfer_leaves_the_history(w3, consortium, databases):
    quality = consortium.quality
    consortium.membership().grant_role(Role.OPERATOR, quality.address)
    brand = consortium.writer()
    lot = brand.create_batch(LOT)
    brand.offer_custody(lot, quality.address)
    consortium.writer(quality).accept_custody(lot)
    engine = databases.engine()
    indexer = Indexer(w3, consortium.deployment, engine)
    indexer.run_once()
    with Session(engine) as session:
        held = [p.custodian for p in queries.custody_history(session, batch_id=lot)]
    assert held == [consortium.operator.address, quality.address]

    reorg(consortium, 1)  # the block of the acceptance

    assert indexer.run_once().rewound_to is not None
    with Session(engine) as session:
        [period] = queries.custody_history(session, batch_id=lot)
        assert (period.custodian, period.until_block) == (consortium.operator.address, None)
        assert queries.custody_offer(session, batch_id=lot) == quality.address
        assert queries.held_by(session, custodian=quality.address) == []


def test_with_confirmations_a_reorged_tip_is_never_indexed(w3, consortium, databases):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    record(writer, lot, [epcis_payload(0)])
    record(writer, lot, [epcis_payload(1)])
    record(writer, lot, [epcis_payload(2)])
    engine = databases.engine()
    indexer = Indexer(w3, consortium.deployment, engine, confirmations=2)
    head = w3.eth.block_number

    first = indexer.run_once()
    assert first.checkpoint == head - 2
    assert payloads_of(engine, lot) == [epcis_payload(0)]  # events 1 and 2 are not deep enough yet

    reorg(consortium, 2)
    rpc(w3, "anvil_mine", [hex(2)])
    progress = indexer.run_once()

    assert progress.rewound_to is None  # nothing indexed had to be undone
    assert progress.checkpoint == w3.eth.block_number - 2
    assert payloads_of(engine, lot) == [epcis_payload(0)]
    with Session(engine) as session:
        assert len(session.scalars(select(LedgerEvent)).all()) == 1
    assert_matches_node(w3, engine)


def test_reorg_between_two_chunks_of_one_run_is_caught(w3, consortium, databases):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    blocks = [
        writer.record_events(lot, [(EventKind.OTHER, epcis_payload(i))]).receipts[0].block_number
        for i in range(4)
    ]
    engine = databases.engine()
    indexer = Indexer(w3, consortium.deployment, engine, chunk_blocks=1)
    commit = indexer._commit
    reorged = []

    def commit_then_reorg(chunk) -> None:
        commit(chunk)
        if chunk.end == blocks[0] and not reorged:  # the first event is written: replace its block
            reorg(consortium, w3.eth.block_number - blocks[0] + 1)
            reorged.append(chunk.end)

    indexer._commit = commit_then_reorg
    progress = indexer.run_once()

    assert reorged and progress.rewound_to == blocks[0] - 1
    assert progress.checkpoint == w3.eth.block_number
    assert payloads_of(engine, lot) == []
    assert_matches_node(w3, engine)
