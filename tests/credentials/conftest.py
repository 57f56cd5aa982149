"""The credential tests run on an anvil of their own: they move its block time ahead of the
wall clock (a second of its own for each fact that must be settled history), which would
leave later tests on the shared chain judging credentials issued "before" their grants."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from credentials import didkit_adapter
from credentials.store import CredentialStore, create_credential_tables
from ledger_client.chain import connect
from ledger_client.db import make_engine
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


class DidkitTimesOutOnce:
    """Once armed, didkit's next credential verification outlasts the adapter's timeout
    (shortened to a tenth of a second); later ones answer as usual."""

    SLOW_S = 0.4

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.calls = 0

    def arm(self) -> None:
        real = didkit_adapter.didkit.verify_credential

        async def verify(*args: str) -> str:
            self.calls += 1
            if self.calls == 1:
                await asyncio.sleep(self.SLOW_S)
            return await real(*args)

        self._monkeypatch.setattr(didkit_adapter, "CALL_TIMEOUT_S", self.SLOW_S / 4)
        self._monkeypatch.setattr(didkit_adapter.didkit, "verify_credential", verify)

    def wait(self) -> None:
        """Until the slow call has left didkit's single worker (a call queued behind it)."""
        self._monkeypatch.setattr(didkit_adapter, "CALL_TIMEOUT_S", self.SLOW_S * 10)
        didkit_adapter.key_to_did("key", {"kty": "OKP", "crv": "Ed25519", "x": "A" * 43})


@pytest.fixture
def didkit_times_out_once(monkeypatch: pytest.MonkeyPatch) -> DidkitTimesOutOnce:
    return DidkitTimesOutOnce(monkeypatch)
