"""Read model databases for the indexer tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger_client.indexer.read_model import create_read_model
from tests.factories import ScratchDatabases


class ReadModelDatabases(ScratchDatabases):
    prefix = "read_model"

    def create_tables(self, engine: Engine) -> None:
        create_read_model(engine)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadModelDatabases]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    databases = ReadModelDatabases(request.param, tmp_path, postgres)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def engine(databases: ReadModelDatabases) -> Engine:
    return databases.engine()
