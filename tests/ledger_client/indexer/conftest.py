"""Read model databases for the indexer tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger_client.indexer.read_model import create_read_model
from tests.factories import BACKENDS, ScratchDatabases


class ReadModelDatabases(ScratchDatabases):
    prefix = "read_model"

    def create_tables(self, engine: Engine) -> None:
        create_read_model(engine)


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadModelDatabases]:
    with ReadModelDatabases.of_backend(request, tmp_path) as databases:
        yield databases


@pytest.fixture
def engine(databases: ReadModelDatabases) -> Engine:
    return databases.engine()
