"""Event indexer and SQL read model: chain logs → rebuildable tables (DESIGN.md §1, §7)."""

from ledger_client.indexer.database import (
    create_read_model,
    drop_read_model,
    for_writing,
    make_engine,
)
from ledger_client.indexer.export import canonical_export
from ledger_client.indexer.indexer import Indexer, IndexerError, IndexProgress, rebuild

__all__ = [
    "IndexProgress",
    "Indexer",
    "IndexerError",
    "canonical_export",
    "create_read_model",
    "drop_read_model",
    "for_writing",
    "make_engine",
    "rebuild",
]
