"""The API server's own database: its bearer tokens, its access trail, its capture jobs."""

from __future__ import annotations

from sqlalchemy import Engine

from api.config import ApiSettings
from api.store.capture_jobs import create_capture_job_tables
from api.store.tokens import create_token_tables
from api.store.trail import create_trail_tables
from ledger_client.db import make_engine


def api_engine(settings: ApiSettings) -> Engine:
    """An engine on `PROVENANCE_API_DATABASE_URL` (SQLite under the state directory by
    default) with the API's tables created.

    Raises:
        ConfigurationError: an unsupported URL scheme.
    """
    engine = make_engine(settings.resolved_database_url, variable="PROVENANCE_API_DATABASE_URL")
    create_api_tables(engine)
    return engine


def create_api_tables(engine: Engine) -> None:
    """Create the API's tables (tokens, access trail, capture jobs) that do not exist yet."""
    create_token_tables(engine)
    create_trail_tables(engine)
    create_capture_job_tables(engine)
