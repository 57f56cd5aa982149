"""The node's figures behind `/metrics`: the bridge database's totals and the follower's lag;
a database that does not answer makes them unknown, never zero."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from api.metrics import NodeSnapshot
from ledger_client.db import make_engine
from oracle_bridge.store import create_bridge_tables
from provenance.node_figures import NodeFigures

pytestmark = pytest.mark.unit


@dataclass
class Lagging:
    lag_blocks: int | None


def test_without_a_bridge_only_the_lag_is_known():
    assert NodeFigures(follower=Lagging(4)).snapshot() == NodeSnapshot(indexer_lag_blocks=4)  # type: ignore[arg-type]
    assert NodeFigures().snapshot() == NodeSnapshot()


def test_a_bridge_database_gives_the_reading_totals(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    create_bridge_tables(engine)
    figures = NodeFigures(bridge_engine=engine, follower=Lagging(0))  # type: ignore[arg-type]
    assert figures.snapshot() == NodeSnapshot(
        readings_accepted=0,
        readings_dead_lettered=0,
        readings_anchored=0,
        inbox_backlog=0,
        indexer_lag_blocks=0,
    )


def test_a_database_that_does_not_answer_leaves_the_totals_unknown(tmp_path: Path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    create_bridge_tables(engine)
    (tmp_path / "bridge.db").unlink()
    (tmp_path / "bridge.db").mkdir()  # a folder where the database was: it cannot be read
    engine.dispose()
    assert NodeFigures(bridge_engine=engine, follower=Lagging(2)).snapshot() == NodeSnapshot(  # type: ignore[arg-type]
        indexer_lag_blocks=2
    )
    assert "metrics: the bridge database did not answer" in caplog.text
