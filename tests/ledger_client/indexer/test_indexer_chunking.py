"""How the indexer sizes its chunks: the log cap cuts at block boundaries (no chain needed)."""

from __future__ import annotations

import pytest

from ledger_client.db import make_engine
from ledger_client.deployment import Deployment
from ledger_client.indexer.indexer import INITIAL_WINDOW_BLOCKS, Indexer

pytestmark = pytest.mark.unit


def indexer(**options) -> Indexer:
    deployment = Deployment(
        chain_id=31337,
        addresses={"Membership": "0x" + "11" * 20, "ProvenanceLedger": "0x" + "22" * 20},
        deploy_block=1,
        deployer="0x" + "33" * 20,
    )
    return Indexer(None, deployment, make_engine("sqlite://"), **options)  # type: ignore[arg-type]


def logs(*per_block: tuple[int, int]) -> list[dict]:
    """`count` stand-in logs for each (block, count)."""
    return [{"blockNumber": hex(block)} for block, count in per_block for _ in range(count)]


def test_over_the_cap_the_chunk_ends_before_the_block_that_crosses_it():
    capped = indexer(max_logs_per_chunk=5)
    kept, end = capped._cap(logs((10, 2), (11, 2), (12, 2), (13, 2)), 10, 20)
    assert end == 11
    assert kept == logs((10, 2), (11, 2))
    assert capped._window == 1  # halved from the two blocks kept


def test_a_block_over_the_cap_is_kept_whole():
    capped = indexer(max_logs_per_chunk=5)
    kept, end = capped._cap(logs((10, 7), (11, 1)), 10, 20)
    assert (end, len(kept)) == (10, 7)


def test_sparse_ranges_widen_the_window_up_to_chunk_blocks():
    sparse = indexer(chunk_blocks=200)
    assert sparse._window == INITIAL_WINDOW_BLOCKS
    for _ in range(5):
        sparse._cap(logs((1, 1)), 1, sparse._window)  # a full window with one log
    assert sparse._window == 200
    kept, end = sparse._cap(logs((5, 1)), 1, 1000)
    assert (end, kept) == (1000, logs((5, 1)))
