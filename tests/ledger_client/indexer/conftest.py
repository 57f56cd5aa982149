"""Read model databases (SQLite and PostgreSQL) for the EPCIS query tests."""

from tests.indexer.conftest import databases, engine

__all__ = ["databases", "engine"]
