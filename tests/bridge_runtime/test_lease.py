"""The submitter lease: one holder at a time per bridge database, takeover on expiry."""

from __future__ import annotations

import pytest

from ledger_client.indexer.database import for_writing
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
