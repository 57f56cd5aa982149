"""Event indexer and SQL read model: chain logs → rebuildable tables (DESIGN.md §1, §7)."""

from ledger_client.indexer.export import canonical_export
from ledger_client.indexer.indexer import Indexer, IndexerError, IndexProgress, rebuild
from ledger_client.indexer.read_model import create_read_model, drop_read_model

__all__ = [
    "IndexProgress",
    "Indexer",
    "IndexerError",
    "canonical_export",
    "create_read_model",
    "drop_read_model",
    "rebuild",
]
