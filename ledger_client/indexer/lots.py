"""The read model's answers about lots and items for the API and the CLI, each in a session
of its own: a batch's history, traces and recall scopes (`trace`).

Identifiers are batch ids (`0x` + 64 hex digits), EPC URNs or GS1 Digital Link URIs.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger_client.indexer import queries
from ledger_client.indexer import trace as tracing
from ledger_client.indexer.queries import BatchHistory, Direction

# SQLite page cache per connection (MiB) for the read model's readers: a trace over 100,000
# lots walks ~50 MB of tables and indexes, which the 2 MiB default reads again every level.
READ_CACHE_MIB = 64


class ReadModelLots:
    """Lots, items and their genealogy, read from the read model at `engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def batch(self, identifier: str) -> BatchHistory:
        """All the read model knows of one batch.

        Raises:
            TraceRefused: a malformed identifier.
            UnknownObject: no batch of that identifier on the ledger.
        """
        batch_id, _ = tracing.resolve(identifier)
        with Session(self.engine) as session:
            history = queries.batch_history(session, batch_id=batch_id)
        if history is None:
            raise tracing.UnknownObject(f"{identifier} is not a batch on the ledger")
        return history

    def trace(self, identifier: str, *, direction: Direction | str, depth: int) -> tracing.Trace:
        """`trace.trace` in a session of its own."""
        with Session(self.engine) as session:
            return tracing.trace(session, identifier=identifier, direction=direction, depth=depth)

    def recall_scope(self, identifier: str, *, depth: int) -> tracing.RecallScope:
        """`trace.recall_scope` in a session of its own."""
        with Session(self.engine) as session:
            return tracing.recall_scope(session, identifier=identifier, depth=depth)
