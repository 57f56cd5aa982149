"""The credential tests run on an anvil of their own: they move its block time ahead of the
wall clock (a second of its own for each fact that must be settled history), which would
leave later tests on the shared chain judging credentials issued "before" their grants."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from credentials.store import CredentialStore, create_credential_tables
from ledger_client.chain import connect
from ledger_client.indexer.database import make_engine
from ledger_client.local_chain import LocalChain, start_anvil


@pytest.fixture(scope="package")
def anvil(compiled: None) -> Iterator[LocalChain]:
    chain = start_anvil()
    try:
        yield chain
    finally:
        chain.stop()


@pytest.fixture(scope="package")
def w3(anvil: LocalChain) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CredentialStore]:
    """A fresh credential store on SQLite (test_service_store.py brings its own, on
    PostgreSQL too)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'credentials.db'}")
    create_credential_tables(engine)
    yield CredentialStore(engine)
    engine.dispose()
