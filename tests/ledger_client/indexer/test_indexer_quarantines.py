"""Quarantines in the read model: the rule's evidence, acknowledgements, the release that
ends one; dropped with their blocks on a reorg; the status-change time column added to a
read model made before it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session
from web3 import Web3

from ledger_client.chain import connect, rpc
from ledger_client.indexer.indexer import Indexer, rebuild
from ledger_client.indexer.quarantines import QuarantineState, quarantines
from ledger_client.indexer.read_model import create_read_model
from ledger_client.local_chain import running_anvil
from ledger_client.nonces import NonceManager
from tests.factories import quarantine_by_rule
from tests.ledger_client.indexer.indexer_factories import export_of

pytestmark = pytest.mark.integration

RULED = "https://id.gs1.org/01/09506000134352/10/Q-RULE"
MANUAL = "https://id.gs1.org/01/09506000134352/10/Q-MANUAL"


@pytest.fixture(scope="module")
def w3(compiled: None) -> Iterator[Web3]:
    """A chain of this module's own: the rollback test reverts it."""
    with running_anvil() as chain:
        yield connect(chain.rpc_url)


def listed(engine, **options) -> list:
    with Session(engine) as session:
        return quarantines(session, **options)


def test_open_and_closed_quarantines_with_evidence_and_acknowledgements(w3, consortium, databases):
    ruled = quarantine_by_rule(consortium, RULED)
    quality = consortium.writer(consortium.quality)
    quality.acknowledge_excursion(ruled, "logger fault, product within range")
    quality.release(ruled, "lab cleared")
    manual = consortium.writer().create_batch(MANUAL)
    quality.quarantine(manual, "carton crushed")
    engine = databases.engine()
    Indexer(w3, consortium.deployment, engine).run_once()

    newest, oldest = listed(engine)
    assert (newest.batch_id, oldest.batch_id) == ("0x" + manual.hex(), "0x" + ruled.hex())
    assert oldest.uri == RULED and oldest.state is QuarantineState.CLOSED
    assert oldest.started.reason == "cold-chain: hard limit"
    assert oldest.started.by == consortium.deployment.address("ColdChainCompliance")
    assert oldest.rule is not None
    assert (oldest.rule.rule_version, oldest.rule.seq) == (1, 1)
    assert oldest.rule.decision == "QUARANTINE_HARD_LIMIT"
    assert [(a.by, a.comment) for a in oldest.acknowledgements] == [
        (consortium.quality.address, "logger fault, product within range")
    ]
    assert oldest.ended is not None
    assert (oldest.ended.status, oldest.ended.reason) == ("RELEASED", "lab cleared")
    assert oldest.started.at is not None and oldest.started.at <= oldest.acknowledgements[0].at
    assert oldest.acknowledgements[0].at <= oldest.ended.at

    assert newest.state is QuarantineState.OPEN and newest.rule is None
    assert newest.started.by == consortium.quality.address and newest.ended is None
    assert newest.acknowledgements == []

    assert [q.batch_id for q in listed(engine, state=QuarantineState.OPEN)] == ["0x" + manual.hex()]
    assert [q.batch_id for q in listed(engine, batch_id=ruled)] == ["0x" + ruled.hex()]
    assert listed(engine, limit=1, offset=1)[0].batch_id == "0x" + ruled.hex()
    rebuilt = databases.engine()
    rebuild(w3, consortium.deployment, rebuilt)
    assert export_of(rebuilt) == export_of(engine)


def test_a_recall_stays_inside_the_quarantine_and_a_second_one_starts_afresh(
    w3, consortium, databases
):
    ruled = quarantine_by_rule(consortium, RULED)
    quality = consortium.writer(consortium.quality)
    quality.recall(ruled, "field reports")
    quality.acknowledge_excursion(ruled, "seen")
    quality.release(ruled, "cleared")
    quality.quarantine(ruled, "second look")
    engine = databases.engine()
    Indexer(w3, consortium.deployment, engine).run_once()

    second, first = listed(engine)
    assert [r.reason for r in first.recalls] == ["field reports"]
    assert [a.comment for a in first.acknowledgements] == ["seen"]
    assert second.state is QuarantineState.OPEN and second.acknowledgements == []


@pytest.mark.parametrize(
    ("options", "message"),
    [({"limit": 0}, "limit"), ({"offset": -1}, "offset"), ({"batch_id": "0x12"}, "32 bytes")],
)
def test_bad_query_arguments_are_refused(databases, options, message):
    with pytest.raises(ValueError, match=message):
        listed(databases.engine(), **options)


def test_an_acknowledgement_dropped_by_a_reorg_leaves_the_read_model(w3, consortium, databases):
    ruled = quarantine_by_rule(consortium, RULED)
    engine = databases.engine()
    indexer = Indexer(w3, consortium.deployment, engine)
    indexer.run_once()
    snapshot = rpc(w3, "anvil_snapshot", [])
    consortium.writer(consortium.quality).acknowledge_excursion(ruled, "dropped with its block")
    indexer.run_once()
    assert [a.comment for a in listed(engine)[0].acknowledgements] == ["dropped with its block"]

    assert rpc(w3, "anvil_revert", [snapshot]) is True
    NonceManager.of(w3, consortium.quality.address).resync()
    rpc(w3, "anvil_mine", [hex(3)])
    progress = indexer.run_once()

    assert progress.rewound_to is not None
    (quarantine,) = listed(engine)
    assert quarantine.acknowledgements == [] and quarantine.state is QuarantineState.OPEN
    assert quarantine.rule is not None


def test_a_read_model_made_before_status_change_times_gets_the_column(databases):
    engine = databases.engine()
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE status_change DROP COLUMN block_time"))
    create_read_model(engine)
    create_read_model(engine)  # twice: the second finds the column there
    columns = {c["name"] for c in inspect(engine).get_columns("status_change")}
    assert "block_time" in columns


def test_a_read_model_made_before_the_uri_index_gets_it(databases):
    engine = databases.engine()
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_batch_uri"))
    create_read_model(engine)
    create_read_model(engine)  # twice: the second finds the index there
    assert "ix_batch_uri" in {index["name"] for index in inspect(engine).get_indexes("batch")}
