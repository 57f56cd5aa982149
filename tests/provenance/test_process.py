"""The process-wide tuning a node's process takes, and gives back."""

from __future__ import annotations

import gc

import pytest

from provenance.process import GC_YOUNG_THRESHOLD, tune_collector

pytestmark = pytest.mark.unit


def test_the_collector_is_tuned_for_the_node_and_restored_after():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    restore = tune_collector()
    try:
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > frozen
    finally:
        restore()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
