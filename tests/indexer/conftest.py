"""Read model databases for the indexer tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from sqlalchemy import Engine

from ledger_client.indexer.database import create_read_model, make_engine


class ReadModelDatabases:
    """Fresh, empty read model databases of one backend, removed after the test."""

    def __init__(self, backend: str, directory: Path, postgres_url: str | None) -> None:
        self.backend = backend
        self._directory = directory
        self._postgres_url = postgres_url
        self._schemas: list[str] = []
        self._engines: list[Engine] = []

    def new_url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self._directory / f'read_model_{uuid4().hex[:8]}.db'}"
        schema = f"indexer_test_{uuid4().hex[:12]}"
        self._admin(f"CREATE SCHEMA {schema}")
        self._schemas.append(schema)
        return f"{self._postgres_url}?options=-csearch_path%3D{schema}"

    def engine(self, url: str | None = None) -> Engine:
        """An engine on `url` (a new database by default) with the read model created."""
        engine = make_engine(url or self.new_url())
        create_read_model(engine)
        self._engines.append(engine)
        return engine

    def delete(self, engine: Engine) -> None:
        """Delete the database behind `engine` entirely and leave an empty one in its place."""
        engine.dispose()
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(str(engine.url.database) + suffix).unlink(missing_ok=True)
        else:
            schema = engine.url.query["options"].split("=", 1)[1]
            self._admin(f"DROP SCHEMA {schema} CASCADE")
            self._admin(f"CREATE SCHEMA {schema}")

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        for schema in self._schemas:
            self._admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def _admin(self, sql: str) -> None:
        assert self._postgres_url is not None
        with psycopg.connect(self._postgres_url, autocommit=True) as connection:
            connection.execute(sql)


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
