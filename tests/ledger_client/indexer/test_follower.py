"""The read model's follower on a real anvil: it indexes new blocks as they come, reports
its lag, logs its first catch-up once, stops cleanly, and gives up on a read model it cannot
continue."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from ledger_client.indexer import queries
from ledger_client.indexer.follower import ReadModelFollower
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import Checkpoint

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-F"


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_follower_keeps_the_read_model_current_and_stops(consortium, engine, caplog):
    caplog.set_level(logging.INFO, logger="ledger_client.indexer.follower")
    follower = ReadModelFollower(Indexer(consortium.w3, consortium.deployment, engine), poll_s=0.05)
    assert follower.lag_blocks is None
    follower.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            follower.start()
        wait_for(lambda: follower.lag_blocks == 0, "the first catch-up")
        batch_id = consortium.writer().create_batch(LOT)
        created = consortium.w3.eth.block_number

        def indexed() -> bool:
            with Session(engine) as session:
                return queries.batch_history(session, batch_id=batch_id) is not None

        wait_for(indexed, "the new batch in the read model")
        with Session(engine) as session:
            checkpoint = session.query(Checkpoint).one()
        assert checkpoint.block_number >= created
        assert follower.running
    finally:
        follower.stop()
    assert not follower.running
    caught_up = [r.getMessage() for r in caplog.records if "caught up" in r.getMessage()]
    assert len(caught_up) == 1
    assert caught_up[0].startswith("read model caught up with the chain at block ")
    consortium.writer().create_batch(LOT + "X")
    time.sleep(0.3)  # stopped: the new block stays out of the read model
    with Session(engine) as session:
        assert session.query(Checkpoint).one().block_number < consortium.w3.eth.block_number


def test_a_read_model_of_another_deployment_ends_the_follower_logged(consortium, engine, caplog):
    other = type(consortium.deployment)(
        chain_id=consortium.deployment.chain_id,
        addresses={**consortium.deployment.addresses, "ProvenanceLedger": "0x" + "11" * 20},
        deploy_block=consortium.deployment.deploy_block,
        deployer=consortium.deployment.deployer,
    )
    Indexer(consortium.w3, other, engine).run_once()
    follower = ReadModelFollower(Indexer(consortium.w3, consortium.deployment, engine), poll_s=0.05)
    follower.start()
    wait_for(lambda: not follower.running, "the follower to give up")
    follower.stop()
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage().startswith(
        "indexer stopped, the read model is no longer kept current: the read model was built "
        "from another deployment"
    )
    assert follower.lag_blocks is None


def test_a_poll_interval_must_be_positive(consortium, engine):
    with pytest.raises(ValueError, match="poll_s must be > 0"):
        ReadModelFollower(Indexer(consortium.w3, consortium.deployment, engine), poll_s=0)
