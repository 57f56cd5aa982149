"""The API's own database (tokens, access trail) on SQLite and PostgreSQL, and the
consortium's organizations registered with their DIDs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.api_factories import ApiDatabases, Members, register_members
from tests.factories import BACKENDS, Consortium


@pytest.fixture(params=BACKENDS)
def api_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiDatabases]:
    with ApiDatabases.of_backend(request, tmp_path) as databases:
        yield databases


@pytest.fixture
def api_engine(api_databases: ApiDatabases) -> Engine:
    return api_databases.engine()


@pytest.fixture
def members(consortium: Consortium) -> Members:
    return register_members(consortium)
