"""The access trail's group commit: concurrent requests' entries are appended in batches, each
exactly once, in the order submitted, chained as one trail; a batch the store refuses fails
every request of it and writes none; closing commits what waits and refuses what comes
after (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.store.trail import TrailStore
from api.trail import TrailEntry, verify_trail
from api.trail_commit import GroupCommit, TrailClosed
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

pytestmark = pytest.mark.integration


def _entry(n: int) -> TrailEntry:
    return TrailEntry(
        seq=0,
        at=f"2026-01-01T00:00:00.{n:06d}Z",
        principal="0123456789abcdef",
        organization="did:example:org",
        role="AUDITOR",
        method="GET",
        path=f"/api/v1/things/{n}",
        query="",
        status=200,
    )


class CountingStore(TrailStore):
    """A trail store that counts its transactions and can be held inside one."""

    def __init__(self, engine) -> None:
        super().__init__(engine)
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def append_many(self, entries):
        self.entered.set()
        self.gate.wait(10)
        self.batches.append(len(entries))
        return super().append_many(entries)


def test_entries_waiting_together_are_one_transaction_in_submission_order(api_engine):
    store = CountingStore(api_engine)
    commit = GroupCommit(store)
    store.gate.clear()  # the first batch is held while the others queue behind it
    futures = [commit.submit(_entry(1))]
    assert store.entered.wait(10)
    futures += [commit.submit(_entry(n)) for n in range(2, 51)]
    store.gate.set()
    chained = [future.result(10) for future in futures]
    assert [c.entry.seq for c in chained] == list(range(1, 51))
    assert [c.entry.path for c in chained] == [f"/api/v1/things/{n}" for n in range(1, 51)]
    assert store.batches == [1, 49]  # the first went alone; the 49 behind it in one
    stored = list(store.entries())
    assert [s.entry.seq for s in stored] == list(range(1, 51))
    assert verify_trail(stored, []).intact


def test_batches_are_capped(api_engine):
    store = CountingStore(api_engine)
    commit = GroupCommit(store, max_batch=10)
    store.gate.clear()
    futures = [commit.submit(_entry(0))]
    assert store.entered.wait(10)
    futures += [commit.submit(_entry(n)) for n in range(1, 25)]
    store.gate.set()
    for future in futures:
        future.result(10)
    assert store.batches == [1, 10, 10, 4]
    assert verify_trail(list(store.entries()), []).intact


def test_a_refused_batch_fails_each_of_its_requests_and_writes_none(api_engine):
    class FailingOnce(CountingStore):
        failed = False

        def append_many(self, entries):
            if len(entries) > 1 and not self.failed:
                self.failed = True
                raise OSError("disk full")
            return super().append_many(entries)

    store = FailingOnce(api_engine)
    commit = GroupCommit(store)
    store.gate.clear()
    first = commit.submit(_entry(1))
    assert store.entered.wait(10)
    refused = [commit.submit(_entry(n)) for n in (2, 3)]
    store.gate.set()
    assert first.result(10).entry.seq == 1
    for future in refused:
        with pytest.raises(OSError, match="disk full"):
            future.result(10)
    assert commit.submit(_entry(4)).result(10).entry.seq == 2  # the trail goes on unbroken
    stored = list(store.entries())
    assert [s.entry.path for s in stored] == ["/api/v1/things/1", "/api/v1/things/4"]
    assert verify_trail(stored, []).intact


def test_close_commits_what_waits_and_refuses_what_comes_after(api_engine):
    store = CountingStore(api_engine)
    commit = GroupCommit(store)
    store.gate.clear()
    futures = [commit.submit(_entry(n)) for n in range(1, 6)]
    closing = threading.Thread(target=commit.close)
    closing.start()
    store.gate.set()
    closing.join(10)
    assert not closing.is_alive()
    assert all(future.done() for future in futures)  # close returned after they were written
    assert [s.entry.seq for s in store.entries()] == [1, 2, 3, 4, 5]
    with pytest.raises(TrailClosed):
        commit.submit(_entry(6))
    assert store.head().count == 5


def test_an_idle_group_commit_holds_no_thread(api_engine):
    commit = GroupCommit(TrailStore(api_engine))
    commit.submit(_entry(1)).result(10)
    commit.flush()
    writers = [t for t in threading.enumerate() if t.name == "trail-writer"]
    for writer in writers:
        writer.join(5)
    assert not any(t.is_alive() for t in writers)


def test_the_app_closes_its_trail_when_it_shuts_down(api_engine):
    app = create_app(FakeIngestor(), trail_store=TrailStore(api_engine))
    with TestClient(app):
        commit = app.state.trail_commit
        pending = [commit.submit(_entry(n)) for n in range(1, 4)]
    # Shut down: what was submitted is written, nothing more is taken.
    assert all(future.done() for future in pending)
    assert TrailStore(api_engine).head().count == 3
    with pytest.raises(TrailClosed):
        commit.submit(_entry(4))
