"""Capture jobs of `POST /api/v1/capture`, as the EPCIS REST binding's `CaptureJob` shows
them: RUNNING until the document is on chain (SUCCESS) or refused whole (FAILED, with the
errors), kept in the API's own database."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import DateTime, Engine, Text, update
from sqlmodel import Field, Session, SQLModel, col

from api.store.tokens import DID_LENGTH
from ledger_client.db import for_writing

JobState = Literal["RUNNING", "SUCCESS", "FAILED"]


class CaptureJobRow(SQLModel, table=True):
    __tablename__ = "capture_job"

    id: str = Field(primary_key=True, max_length=32)
    organization: str = Field(max_length=DID_LENGTH)
    state: str = Field(max_length=16)
    event_count: int
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # JSON array of error texts.
    errors: str = Field(default="[]", sa_type=Text)


CAPTURE_JOB_TABLES = [SQLModel.metadata.tables[CaptureJobRow.__tablename__]]


def create_capture_job_tables(engine: Engine) -> None:
    """Create the capture job table if it does not exist yet."""
    SQLModel.metadata.create_all(engine, tables=CAPTURE_JOB_TABLES)


@dataclass(frozen=True)
class CaptureJob:
    id: str
    organization: str
    state: JobState
    event_count: int
    created_at: datetime
    finished_at: datetime | None
    errors: list[str]


def _utc(instant: datetime | None) -> datetime | None:
    if instant is None or instant.tzinfo is not None:
        return instant
    return instant.replace(tzinfo=UTC)


def _job(row: CaptureJobRow) -> CaptureJob:
    created = _utc(row.created_at)
    assert created is not None  # a required column
    return CaptureJob(
        id=row.id,
        organization=row.organization,
        state=row.state,  # type: ignore[arg-type]  # only this module writes it
        event_count=row.event_count,
        created_at=created,
        finished_at=_utc(row.finished_at),
        errors=json.loads(row.errors),
    )


class CaptureJobStore:
    """The capture jobs in the database behind `engine` (see `create_capture_job_tables`)."""

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.engine = engine
        self._clock = clock

    def start(self, *, organization: str, event_count: int) -> CaptureJob:
        """A new RUNNING job of `organization` capturing `event_count` events."""
        row = CaptureJobRow(
            id=secrets.token_hex(12),
            organization=organization,
            state="RUNNING",
            event_count=event_count,
            created_at=self._clock(),
        )
        with Session(for_writing(self.engine), expire_on_commit=False) as session:
            session.add(row)
            session.commit()
        return _job(row)

    def finish(self, job_id: str, *, errors: list[str]) -> CaptureJob:
        """Mark the job SUCCESS (no `errors`) or FAILED with them."""
        with Session(for_writing(self.engine), expire_on_commit=False) as session:
            row = session.get(CaptureJobRow, job_id)
            if row is None:
                raise KeyError(job_id)
            row.state = "FAILED" if errors else "SUCCESS"
            row.errors = json.dumps(errors)
            row.finished_at = self._clock()
            session.add(row)
            session.commit()
        return _job(row)

    def fail_running(self, *, error: str) -> list[str]:
        """Mark every RUNNING job FAILED with `error`; their ids. For a node starting: a job
        still RUNNING was cut off by a stop, and nothing will finish it."""
        with Session(for_writing(self.engine)) as session:
            ids = list(
                session.scalars(
                    update(CaptureJobRow)
                    .where(col(CaptureJobRow.state) == "RUNNING")
                    .values(state="FAILED", errors=json.dumps([error]), finished_at=self._clock())
                    .returning(col(CaptureJobRow.id))
                )
            )
            session.commit()
        return ids

    def get(self, job_id: str) -> CaptureJob | None:
        with Session(self.engine) as session:
            row = session.get(CaptureJobRow, job_id)
            return None if row is None else _job(row)
