"""The node's figures for `/metrics` (the API's `NodeStatus` port): the bridge database's
reading totals and the read model's lag behind the chain."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.metrics import NodeSnapshot
from ledger_client.indexer.follower import ReadModelFollower
from oracle_bridge.totals import reading_totals
from provenance.follower_process import FollowerProcess

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeFigures:
    """Reads the figures of a node's bridge database (`bridge_engine`, None without a bridge)
    and read-model follower (None when the node keeps no read model) at each scrape."""

    bridge_engine: Engine | None = None
    follower: ReadModelFollower | FollowerProcess | None = None

    def snapshot(self) -> NodeSnapshot:
        lag = self.follower.lag_blocks if self.follower is not None else None
        if self.bridge_engine is None:
            return NodeSnapshot(indexer_lag_blocks=lag)
        try:
            totals = reading_totals(self.bridge_engine)
        except SQLAlchemyError as exc:
            # A scrape while the database is down: the figures are unknown, not zero.
            log.warning("metrics: the bridge database did not answer: %s", exc)
            return NodeSnapshot(indexer_lag_blocks=lag)
        return NodeSnapshot(
            readings_accepted=totals.accepted,
            readings_dead_lettered=totals.dead_lettered,
            readings_anchored=totals.anchored,
            inbox_backlog=totals.backlog,
            indexer_lag_blocks=lag,
        )
