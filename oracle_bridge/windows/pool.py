"""Drafting in the bridge's worker processes: each reads its pairs' rows itself (readers
never wait for the writer), so the closer's process neither reads nor ships them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import Engine

from ledger_client.db import make_engine
from oracle_bridge.native import HotPath
from oracle_bridge.rules import Rule
from oracle_bridge.store import BRIDGE_SQLITE_CACHE_MIB
from oracle_bridge.windows.drafting import PairDraft, draft_pair
from oracle_bridge.windows.inbox import DraftOptions, read_jobs

# Due pairs in a pass from which drafting goes to the worker processes (fewer: in-process).
POOL_MIN_PAIRS = 8
# Tasks a pass's pairs are split into for the workers.
DRAFTING_TASKS = 4


def shared_url(engine: Engine) -> str | None:
    """The URL another process can open the same database by: PostgreSQL, or a SQLite file
    (not an in-memory database)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
        return None
    return url.render_as_string(hide_password=False)


@lru_cache(maxsize=4)
def _worker_engine(url: str) -> Engine:
    """A worker process's engine on the bridge's database, made once per process."""
    return make_engine(url, sqlite_cache_mib=BRIDGE_SQLITE_CACHE_MIB)


def read_and_draft(
    url: str,
    pairs: Sequence[tuple[bytes, str]],
    rules: dict[bytes, Rule],
    options: DraftOptions,
    hot_path: HotPath,
) -> list[PairDraft]:
    """A worker's share of a pass: its pairs' rows read and their windows drafted."""
    with _worker_engine(url).connect() as connection:
        jobs = read_jobs(connection, pairs, rules, options)
    return [draft_pair(job, hot_path=hot_path) for job in jobs]
