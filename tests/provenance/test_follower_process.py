"""The read model's follower in a process of its own (`provenance serve`): it indexes what is
anchored, says its lag, stops when asked with nothing torn, and reports why it gave up."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger_client.config import LedgerSettings
from ledger_client.db import make_engine
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import Checkpoint, LedgerEvent, create_read_model
from provenance.follower_process import FollowerProcess
from tests.ledger_client.indexer.indexer_factories import epcis_payload, record

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/FOLLOW-1"


def settings(anvil, consortium, tmp_path) -> LedgerSettings:
    consortium.deployment.save(tmp_path / "deployment.json")
    return LedgerSettings(state_dir=tmp_path, rpc_url=anvil.rpc_url)


def until(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s:.0f}s"
        time.sleep(0.1)


def events_in(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(LedgerEvent)) or 0


def test_follows_the_chain_and_stops_when_asked(anvil, consortium, tmp_path):
    ledger = settings(anvil, consortium, tmp_path)
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    record(writer, lot, [epcis_payload(i) for i in range(30)])
    engine = make_engine(ledger.resolved_database_url)
    create_read_model(engine)
    follower = FollowerProcess(ledger, poll_s=0.1)
    assert follower.lag_blocks is None
    follower.start()
    try:
        until(lambda: events_in(engine) == 30, "indexing the first 30 events")
        record(writer, lot, [epcis_payload(i) for i in range(30, 40)])
        until(lambda: events_in(engine) == 40, "indexing 10 more")
        until(lambda: follower.lag_blocks == 0, "reporting no lag")
        assert follower.running
    finally:
        follower.stop()
    assert not follower.running
    assert follower.failure is None

    # Stopped: nothing more is indexed, and what was is whole (a fresh run finds nothing).
    record(writer, lot, [epcis_payload(40)])
    time.sleep(0.5)
    assert events_in(engine) == 40
    with Session(engine) as session:
        checkpoint = session.scalars(select(Checkpoint)).one()
    progress = Indexer(consortium.w3, consortium.deployment, engine).run_once()
    assert (progress.start_block, progress.events) == (checkpoint.block_number + 1, 1)


def test_a_read_model_it_cannot_continue_ends_it_with_the_reason(anvil, consortium, tmp_path):
    ledger = settings(anvil, consortium, tmp_path)
    deployment = consortium.deployment
    engine = make_engine(ledger.resolved_database_url)
    create_read_model(engine)
    other = type(deployment)(
        chain_id=deployment.chain_id,
        addresses={**deployment.addresses, "ProvenanceLedger": "0x" + "11" * 20},
        deploy_block=deployment.deploy_block,
        deployer=deployment.deployer,
    )
    Indexer(consortium.w3, other, engine).run_once()
    follower = FollowerProcess(ledger, poll_s=0.1)
    follower.start()
    try:
        until(lambda: not follower.running, "giving up")
    finally:
        follower.stop()
    assert follower.failure is not None
    assert "built from another deployment" in str(follower.failure)


def test_a_poll_interval_of_zero_is_refused(tmp_path):
    with pytest.raises(ValueError, match="poll_s"):
        FollowerProcess(LedgerSettings(state_dir=tmp_path), poll_s=0)
