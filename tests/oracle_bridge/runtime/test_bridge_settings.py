"""Bridge settings that cannot work are refused when read, with what to do instead."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oracle_bridge.config import BridgeSettings

pytestmark = pytest.mark.unit


def test_a_renamed_variable_is_refused_not_ignored(monkeypatch):
    monkeypatch.setenv("PROVENANCE_BRIDGE_SCREENING_WORKERS", "2")
    with pytest.raises(
        ValidationError,
        match="PROVENANCE_BRIDGE_SCREENING_WORKERS is now PROVENANCE_BRIDGE_WORKERS",
    ):
        BridgeSettings()


def test_worker_processes_are_read_from_their_variable(monkeypatch):
    monkeypatch.setenv("PROVENANCE_BRIDGE_WORKERS", "3")
    assert BridgeSettings().workers == 3


def test_backoff_bounds_in_the_wrong_order_are_refused(monkeypatch):
    monkeypatch.setenv("PROVENANCE_BRIDGE_CHAIN_BACKOFF_MIN_S", "5")
    monkeypatch.setenv("PROVENANCE_BRIDGE_CHAIN_BACKOFF_MAX_S", "1")
    with pytest.raises(ValidationError, match="CHAIN_BACKOFF_MIN_S exceeds"):
        BridgeSettings()
