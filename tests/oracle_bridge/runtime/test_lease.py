"""The submitter lease: one holder (a process) at a time per bridge database, takeover on
expiry or, from a process of the same name on this host that has ended, at once."""

from __future__ import annotations

import os
import subprocess

import pytest

from ledger_client.db import for_writing
from oracle_bridge import lease as lease_module
from oracle_bridge.lease import Lease
from oracle_bridge.store import create_bridge_tables

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def shared(databases):
    engine = databases.engine()
    create_bridge_tables(engine)
    return engine


def leases(engine, clock, *names, ttl_s=10.0):
    return [Lease(engine, holder=name, ttl_s=ttl_s, clock=clock) for name in names]


def test_the_first_instance_takes_the_lease_and_the_others_wait(shared):
    clock = Clock(1000.0)
    first, second = leases(shared, clock, "a", "b")
    assert first.hold()
    assert not second.hold()
    clock.now += 9
    assert first.hold(), "the holder renews"
    clock.now += 9
    assert not second.hold(), "renewed 9 s ago: not expired"


def test_an_expired_lease_passes_to_the_next_instance_and_fences_the_old_holder(shared):
    clock = Clock(1000.0)
    first, second = leases(shared, clock, "a", "b")
    assert first.hold()
    clock.now += 10
    assert second.hold()
    assert not first.hold()
    with for_writing(shared).begin() as connection:
        assert second.held_in(connection)
        assert not first.held_in(connection)


def test_the_holder_is_fenced_once_its_lease_expires_even_before_a_takeover(shared):
    clock = Clock(1000.0)
    (first,) = leases(shared, clock, "a")
    assert first.hold()
    clock.now += 10.5
    with for_writing(shared).begin() as connection:
        assert not first.held_in(connection)


def test_a_released_lease_is_taken_at_once(shared):
    clock = Clock(1000.0)
    first, second = leases(shared, clock, "a", "b")
    assert first.hold()
    first.release()
    assert second.hold()
    assert not first.hold()


def test_a_restarted_instance_takes_its_own_lease_back_at_once(shared):
    clock = Clock(1000.0)
    (before_crash,) = leases(shared, clock, "a")
    assert before_crash.hold()
    (after_restart, other) = leases(shared, clock, "a", "b")
    assert after_restart.hold()
    assert not other.hold()


@pytest.fixture
def other_process():
    """A live process of this host (standing for another bridge process), ended afterwards."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def as_process(monkeypatch, pid: int, host: str | None = None) -> None:
    """Leases made after this are held by process `pid` (on `host`)."""
    monkeypatch.setattr(lease_module.os, "getpid", lambda: pid)
    if host is not None:
        monkeypatch.setattr(lease_module.socket, "gethostname", lambda: host)


def test_two_live_processes_under_one_name_never_both_hold_the_lease(
    shared, monkeypatch, other_process
):
    clock = Clock(1000.0)
    with monkeypatch.context() as patched:
        as_process(patched, other_process.pid)
        (running,) = leases(shared, clock, "host:0xoracle")
    (started_later,) = leases(shared, clock, "host:0xoracle")
    assert running.holder != started_later.holder, "the process is part of the holder"
    assert running.hold()
    assert not started_later.hold(), "a second process of the same name holds it too"
    assert started_later.namesake() == running.holder
    clock.now += 9
    assert running.hold() and not started_later.hold()


def test_a_restarted_process_takes_over_from_its_ended_predecessor_at_once(
    shared, monkeypatch, other_process
):
    clock = Clock(1000.0)
    with monkeypatch.context() as patched:
        as_process(patched, other_process.pid)
        (before_crash,) = leases(shared, clock, "host:0xoracle")
    assert before_crash.hold()
    other_process.kill()
    other_process.wait()
    (after_restart, other_name) = leases(shared, clock, "host:0xoracle", "other")
    assert after_restart.namesake() is None, "an ended process is no namesake"
    assert after_restart.hold(), "the lease of its ended predecessor, without waiting"
    assert not other_name.hold()


def test_a_namesake_on_another_host_is_waited_out_not_taken_over(shared, monkeypatch):
    clock = Clock(1000.0)
    with monkeypatch.context() as patched:
        as_process(patched, os.getpid(), host="elsewhere")
        (remote,) = leases(shared, clock, "shared-name")
    (local,) = leases(shared, clock, "shared-name")
    assert remote.hold()
    assert not local.hold(), "whether it still runs is unknown: wait for the expiry"
    assert local.namesake() == remote.holder
    clock.now += 10
    assert local.namesake() is None
    assert local.hold()
