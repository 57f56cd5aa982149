"""Events filed under several lots and items, or under the organization (`recordFiledEvents`),
in the read model: once in the EPCIS tables, once per filing in each batch's history, each
filing with its own proof, and undone by a reorganisation like every other row.

These tests rewrite chain history, so they run on an anvil of their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_utils import keccak
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3 import Web3

from ledger_client.chain import connect, rpc
from ledger_client.epcis_query.events import query_events
from ledger_client.epcis_query.parameters import parse_query
from ledger_client.indexer import queries
from ledger_client.indexer.decoding import organization_key
from ledger_client.indexer.indexer import Indexer, rebuild
from ledger_client.indexer.read_model import EpcisEvent, EpcisTerm, LedgerEvent
from ledger_client.ledger import BatchKind, EventKind, FiledEvent
from ledger_client.local_chain import running_anvil
from ledger_client.nonces import NonceManager
from tests.ledger_client.indexer.indexer_factories import epcis_payload, export_of

pytestmark = pytest.mark.integration

LOT_A = "https://id.gs1.org/01/09506000134352/10/LOT-FA"
LOT_B = "https://id.gs1.org/01/09506000134352/10/LOT-FB"
ITEM = "https://id.gs1.org/01/09506000134352/21/SN-F1"


@pytest.fixture(scope="module")
def w3(compiled: None) -> Iterator[Web3]:
    """Overrides the session's chain: the reorganisation here must not touch other tests."""
    with running_anvil() as chain:
        yield connect(chain.rpc_url)


def texts(rows: list[LedgerEvent]) -> list[bytes | None]:
    return [row.payload.encode() if row.payload is not None else None for row in rows]


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def all_event_payloads(engine) -> list[bytes]:
    return [p.encode() for p in query_events(engine, parse_query([("perPage", "1000")])).payloads]


def test_an_event_is_queried_once_and_filed_under_every_batch_with_its_own_proof(
    w3, consortium, engine
):
    writer = consortium.writer()
    lot_a, lot_b = writer.create_batch(LOT_A), writer.create_batch(LOT_B)
    item = writer.create_batch(ITEM, kind=BatchKind.ITEM, parents=[lot_a])
    shared, lot_b_only, unfiled, later = (epcis_payload(n, minute=n) for n in range(4))
    anchored = writer.record_filed_events(
        [
            FiledEvent(EventKind.OTHER, shared, (lot_a, lot_b, item)),
            FiledEvent(EventKind.OTHER, lot_b_only, (lot_b,)),
            FiledEvent(EventKind.INSPECTION, unfiled, ()),
        ]
    )
    writer.record_events(lot_a, [(EventKind.OTHER, later)])

    Indexer(w3, consortium.deployment, engine).run_once()

    with Session(engine) as session:
        history_a = queries.batch_history(session, batch_id=lot_a)
        history_b = queries.batch_history(session, batch_id=lot_b)
        history_item = queries.batch_history(session, batch_id=item)
        own = queries.organization_events(session, organization=consortium.operator.address)
        assert history_a and history_b and history_item
        assert texts(history_a.events) == [shared, later]
        assert texts(history_b.events) == [shared, lot_b_only]
        assert texts(history_item.events) == [shared]
        assert [e.event_index for e in history_b.events] == [0, 1]
        assert texts(own) == [unfiled]
        assert (own[0].kind, own[0].event_index, own[0].recorder) == (
            "INSPECTION",
            0,
            consortium.operator.address,
        )
        assert own[0].batch_id == organization_key(consortium.operator.address)
        assert queries.organization_events(session, organization=consortium.quality.address) == []

        # Every filing is a proof of its own: same transaction and payload hash, its own log.
        filings = [history_a.events[0], history_b.events[0], history_item.events[0]]
        assert {f.tx_hash for f in filings} == {anchored.receipts[0].tx_hash}
        assert {f.payload_hash for f in filings} == {"0x" + keccak(shared).hex()}
        assert len({f.log_index for f in filings}) == 3
        # The EPCIS tables hold the shared event once, under its first filing (lowest log).
        first = min(filings, key=lambda f: f.log_index)
        stored = session.scalars(
            select(EpcisEvent).where(
                EpcisEvent.block_number == first.block_number,
                EpcisEvent.log_index == first.log_index,
            )
        ).one()
        assert (stored.batch_id, stored.event_index) == (first.batch_id, first.event_index)

    assert count(engine, LedgerEvent) == 3 + 1 + 1 + 1
    assert count(engine, EpcisEvent) == 4
    assert sorted(all_event_payloads(engine)) == sorted([shared, lot_b_only, unfiled, later])
    # An identifier match finds the shared event once, though three batches file it.
    epc = "https://id.gs1.org/01/09506000134352/21/SN-0"
    matched = query_events(engine, parse_query([("MATCH_epc", epc)])).payloads
    assert [p.encode() for p in matched] == [shared]


def test_a_reorganisation_removes_every_filing_and_the_query_rows(w3, consortium, engine):
    writer = consortium.writer()
    lot_a, lot_b = writer.create_batch(LOT_A), writer.create_batch(LOT_B)
    kept = epcis_payload(10)
    writer.record_filed_events([FiledEvent(EventKind.OTHER, kept, (lot_a, lot_b))])
    dropped = [epcis_payload(11), epcis_payload(12)]
    writer.record_filed_events(
        [
            FiledEvent(EventKind.OTHER, dropped[0], (lot_a, lot_b)),
            FiledEvent(EventKind.OTHER, dropped[1], ()),
        ]
    )
    indexer = Indexer(w3, consortium.deployment, engine)
    indexer.run_once()
    assert count(engine, LedgerEvent) == 5
    assert count(engine, EpcisEvent) == 3

    rpc(w3, "anvil_reorg", [1, []])  # the block of the second call is replaced by an empty one
    for account in (consortium.governor, consortium.operator, consortium.quality):
        NonceManager.of(w3, account.address).resync()
    progress = indexer.run_once()

    assert progress.rewound_to is not None
    with Session(engine) as session:
        history_a = queries.batch_history(session, batch_id=lot_a)
        assert history_a is not None and texts(history_a.events) == [kept]
        assert queries.organization_events(session, organization=consortium.operator.address) == []
    assert count(engine, LedgerEvent) == 2
    assert count(engine, EpcisEvent) == 1
    with Session(engine) as session:
        terms = session.scalar(select(func.count()).select_from(EpcisTerm)) or 0
        assert terms > 0 and all_event_payloads(engine) == [kept]


def test_filed_events_indexed_block_by_block_equal_a_rebuild(w3, consortium, databases):
    writer = consortium.writer()
    writer.max_tx_bytes = 2_048  # several transactions, so several blocks
    lot_a, lot_b = writer.create_batch(LOT_A), writer.create_batch(LOT_B)
    filings = [(lot_a, lot_b), (lot_b,), ()]
    writer.record_filed_events(
        [FiledEvent(EventKind.OTHER, epcis_payload(n), filings[n % 3]) for n in range(12)]
    )
    engine = databases.engine()
    Indexer(w3, consortium.deployment, engine, chunk_blocks=1).run_once()
    indexed = export_of(engine)
    assert indexed.count(b'"table":"ledger_event"') == 4 * 2 + 4 + 4
    assert indexed.count(b'"table":"epcis_event"') == 12

    databases.delete(engine)
    rebuild(w3, consortium.deployment, engine)

    assert export_of(engine) == indexed
