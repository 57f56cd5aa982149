"""EPCIS capture jobs: a document is planned at once (a bad one is refused before any job
exists), then captured on chain by the node's organization as a job the client polls.

The node writes with its own key, so only an OPERATOR of the node's organization captures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from api.store.capture_jobs import CaptureJob, CaptureJobStore
from ledger_client.epcis.capture_plan import DEFAULT_MAX_EVENTS, CapturePlan, plan_capture
from ledger_client.epcis.validation import Validator
from ledger_client.errors import ProvenanceError

_log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# A job the node's stop cut off: its document is not kept, so it cannot be resumed, and part
# of it may be on chain already.
INTERRUPTED_CAPTURE = (
    "the node stopped while this capture was running and cannot resume it: some of its lots "
    "and items may have been created and some of its events anchored; look its eventIDs up "
    "(GET /api/v1/events?EQ_eventID=…) before capturing what is missing again"
)


class DocumentCapturer(Protocol):
    """Puts a planned document on chain (`ledger_client.capture.Capturer`)."""

    @property
    def account(self) -> str:
        """The chain account the node writes with: its organization's."""
        ...

    @property
    def chain_id(self) -> int: ...

    def capture(self, plan: CapturePlan) -> Any: ...


@dataclass(frozen=True)
class CaptureLimits:
    """What one `POST /api/v1/capture` may carry; beyond either, it is refused with 413."""

    body_bytes: int = DEFAULT_MAX_BODY_BYTES
    events: int = DEFAULT_MAX_EVENTS


class CaptureDesk:
    """Plans documents with `validator`, keeps their jobs in `jobs`, captures with
    `capturer`."""

    def __init__(
        self,
        *,
        capturer: DocumentCapturer,
        jobs: CaptureJobStore,
        validator: Validator,
        limits: CaptureLimits | None = None,
    ) -> None:
        self.capturer = capturer
        self.jobs = jobs
        self.validator = validator
        self.limits = limits or CaptureLimits()

    def plan(self, document: Any) -> CapturePlan:
        """The plan of `document` (raises `InvalidEpcisEvent` or `TooManyEvents`)."""
        return plan_capture(document, validator=self.validator, max_events=self.limits.events)

    def run(self, job: CaptureJob, plan: CapturePlan) -> CaptureJob:
        """Capture `plan` as `job`, which ends SUCCESS, or FAILED with the refusal."""
        try:
            self.capturer.capture(plan)
        except ProvenanceError as exc:
            _log.info("capture job %s refused: %s", job.id, exc)
            return self.jobs.finish(job.id, errors=[str(exc)])
        except Exception as exc:
            _log.exception("capture job %s failed", job.id)
            return self.jobs.finish(job.id, errors=[f"the capture failed: {exc}"])
        return self.jobs.finish(job.id, errors=[])
