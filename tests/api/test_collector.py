"""The collector pause: off inside, restored by the last of overlapping holders, and a
collector disabled by someone else stays disabled."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.collector import paused_collection


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()


def test_paused_inside_and_restored_by_the_last_overlapping_holder():
    gc.enable()
    first, second = paused_collection(), paused_collection()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled(), "another holder still runs"
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_restored_after_an_error_and_never_enabled_if_it_was_off():
    gc.enable()
    with pytest.raises(RuntimeError), paused_collection():
        raise RuntimeError("refused")
    assert gc.isenabled()
    gc.disable()
    with paused_collection():
        pass
    assert not gc.isenabled()
