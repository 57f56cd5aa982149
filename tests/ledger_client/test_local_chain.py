"""The embedded local anvil: started, stopped, and nothing of it left on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from ledger_client.local_chain import running_anvil

pytestmark = pytest.mark.integration

# Where anvil keeps the past states it writes to disk unless told otherwise.
ANVIL_DEFAULT_TMP = Path.home() / ".foundry" / "anvil" / "tmp"


def entries(directory: Path) -> set[Path]:
    return set(directory.iterdir()) if directory.is_dir() else set()


def test_a_stopped_anvil_leaves_nothing_on_disk():
    """anvil writes every state older than its ~500 in memory under ~/.foundry/anvil/tmp
    and leaves it there (12+ GB in one run of the suite filled this machine's disk)."""
    before = entries(ANVIL_DEFAULT_TMP)
    with running_anvil() as chain:
        assert chain.cache_dir is not None and chain.cache_dir.is_dir()
        for _ in range(600):  # past the states anvil keeps in memory
            mined = requests.post(
                chain.rpc_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []},
                timeout=10,
            )
            assert "error" not in mined.json()
        assert entries(chain.cache_dir) == set()
    assert not chain.cache_dir.exists()
    assert entries(ANVIL_DEFAULT_TMP) == before
