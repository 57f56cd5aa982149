"""Capture jobs in the API's database (SQLite and PostgreSQL): RUNNING until finished,
then SUCCESS or FAILED with the errors, each instant kept with its zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.store.capture_jobs import CaptureJobStore

ORG = "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def test_a_job_runs_then_succeeds(api_engine):
    store = CaptureJobStore(api_engine, clock=Clock())
    job = store.start(organization=ORG, event_count=3)
    assert (job.state, job.event_count, job.finished_at, job.errors) == ("RUNNING", 3, None, [])
    assert store.get(job.id) == job
    done = store.finish(job.id, errors=[])
    assert done.state == "SUCCESS" and done.finished_at == job.created_at + timedelta(seconds=1)
    assert store.get(job.id) == done
    assert store.get(job.id).created_at.tzinfo is not None


def test_a_failed_job_keeps_its_errors_and_jobs_are_apart(api_engine):
    store = CaptureJobStore(api_engine)
    failed = store.start(organization=ORG, event_count=1)
    other = store.start(organization=ORG, event_count=2)
    store.finish(
        failed.id, errors=["lot https://id.gs1.org/01/09506000134352/10/L1 is QUARANTINED"]
    )
    assert store.get(failed.id).state == "FAILED"
    assert store.get(failed.id).errors == [
        "lot https://id.gs1.org/01/09506000134352/10/L1 is QUARANTINED"
    ]
    assert store.get(other.id).state == "RUNNING"
    assert store.get("nope") is None


def test_a_node_start_fails_the_jobs_a_stop_left_running_and_no_other(api_engine):
    store = CaptureJobStore(api_engine, clock=Clock())
    done = store.finish(store.start(organization=ORG, event_count=1).id, errors=[])
    refused = store.finish(store.start(organization=ORG, event_count=1).id, errors=["no"])
    cut_off = store.start(organization=ORG, event_count=5)

    assert store.fail_running(error="the node stopped") == [cut_off.id]

    failed = store.get(cut_off.id)
    assert (failed.state, failed.errors) == ("FAILED", ["the node stopped"])
    assert failed.finished_at is not None and failed.finished_at > cut_off.created_at
    assert store.get(done.id) == done and store.get(refused.id) == refused
    assert store.fail_running(error="again") == []
