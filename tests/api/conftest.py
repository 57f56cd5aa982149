"""The API's own database (tokens, access trail) on SQLite and PostgreSQL, and the
consortium's organizations registered with their DIDs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.api_factories import ApiDatabases, Members, register_members
from tests.factories import Consortium


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def api_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiDatabases]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    databases = ApiDatabases(request.param, tmp_path, postgres)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def api_engine(api_databases: ApiDatabases) -> Engine:
    return api_databases.engine()


@pytest.fixture
def members(consortium: Consortium) -> Members:
    return register_members(consortium)
