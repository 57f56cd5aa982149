"""Drafting a pair's due windows: pure (hashing, packing and the rule engine), picklable,
so a worker process can do it.

`draft_pair(job)` takes a `PairJob` (a pair's pending inbox rows, its stored `PairState`,
its rule and the pass's timing) and returns a `PairDraft`: the windows due now and the
pair's state after them. Windows whose readings are all in range are drafted in C where the
hot path is built; the rest by `planning`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypedDict

from oracle_bridge.merkle import window_root
from oracle_bridge.native import NOT_DUE, DraftedWindow, HotPath
from oracle_bridge.readings import Reading, SignedReading
from oracle_bridge.rules import ComplianceState, Rule
from oracle_bridge.windows.planning import WindowEvaluation, evaluate_window, plan_window

STATE_FIELDS = (
    "last_seq",
    "last_timestamp",
    "in_excursion",
    "excursion_start",
    "last_submitted_seq",
    "halted_reason",
)


@dataclass(frozen=True)
class PairState:
    """A pair's stored compliance state (`DeviceComplianceState`'s fields)."""

    last_seq: int = 0
    last_timestamp: int = 0
    in_excursion: bool = False
    excursion_start: int = 0
    last_submitted_seq: int = 0
    halted_reason: str | None = None

    @property
    def engine_state(self) -> ComplianceState:
        return ComplianceState.of(self)

    def values(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in STATE_FIELDS}


@dataclass(frozen=True)
class PairJob:
    """What drafting one pair's windows needs: picklable, so a worker process can do it."""

    batch_id: bytes
    device: str
    rule: Rule
    # `PENDING_COLUMNS` of its pending readings, in seq order
    rows: list[tuple[Any, ...]]
    state: PairState
    # `PENDING_COLUMNS` of the reading at `state.last_seq` (a data gap may need it), if
    # `previous_read`: it is read only for the pairs whose drafting asks for it
    previous_row: tuple[Any, ...] | None
    previous_read: bool
    now: float
    watched: bool
    max_readings: int
    max_age_s: float
    submission_max_readings: int


def draft_pair(job: PairJob, *, hot_path: HotPath) -> PairDraft:
    """The windows of one pair due now (pure: hashing, packing and the rule engine)."""
    state = job.state
    draft = PairDraft(
        batch_id=job.batch_id,
        device=job.device,
        before=(state.last_seq, state.last_submitted_seq, state.halted_reason),
        state=state,
    )
    rows = job.rows
    # Built only if a window needs the rule engine in Python (an excursion, a gap, ...).
    signed: list[SignedReading] = []
    received: list[float] = []
    ids: dict[int, int] = {}
    start = 0
    while start < len(rows):
        benign = _benign_window(job, draft.state, start, hot_path)
        if benign == NOT_DUE and not job.watched:
            break
        if isinstance(benign, tuple):
            count, packed, merkle_root, last_seq, last_timestamp = benign
            draft.state = replace(draft.state, last_seq=last_seq, last_timestamp=last_timestamp)
            draft.windows.append(
                WindowDraft(rows[start][1], last_seq, count, merkle_root, packed, submissions=[])
            )
            start += count
            continue
        if not job.previous_read and state.last_seq and state.halted_reason is None:
            return replace(draft, windows=[], needs_previous=True)
        if not signed:
            signed = [_signed(job.batch_id, job.device, row) for row in rows]
            received = [row[-1] for row in rows]
            ids = _reading_ids(job)
        previous = signed[start - 1] if start else _previous_reading(job)
        window = _next_window(job, draft.state, signed[start:], received[start:], previous)
        if window == "awaits seq":
            draft.awaits_seq = True
            break
        if window is None:
            break
        count, packed, verdict = window
        taken = signed[start : start + count]
        if verdict is not None:
            draft.state = PairState(
                last_seq=verdict.state.last_seq,
                last_timestamp=verdict.state.last_timestamp,
                in_excursion=verdict.state.in_excursion,
                excursion_start=verdict.state.excursion_start,
                last_submitted_seq=verdict.submitted_seq,
                halted_reason=verdict.halted_reason,
            )
        draft.windows.append(
            WindowDraft(
                first_seq=taken[0].reading.seq,
                last_seq=taken[-1].reading.seq,
                count=count,
                merkle_root=window_root([s.reading for s in taken], hot_path=hot_path),
                packed=packed,
                submissions=_submission_chunks(verdict, ids, job.submission_max_readings),
            )
        )
        start += count
    if start < len(rows):
        draft.rest_oldest = min(row[-1] for row in rows[start:])
    return draft


def _benign_window(
    job: PairJob, state: PairState, start: int, hot_path: HotPath
) -> DraftedWindow | int | None:
    """The pair's next window from `job.rows[start]` when it is due and every reading in it
    is in range (so it changes nothing but the pair's last seq and timestamp), drafted by
    `hot_path`: (count, packed, Merkle root, last seq, last timestamp); `NOT_DUE`; or None
    where the Python drafting must decide (the reference, a halted pair, an excursion, ...)."""
    if state.halted_reason is not None:
        return None
    return hot_path.draft_window(
        device=job.device,
        batch_id=job.batch_id,
        rows=job.rows,
        start=start,
        max_readings=job.max_readings,
        now=job.now,
        max_age_s=job.max_age_s,
        rule=job.rule,
        state=(state.last_seq, state.last_timestamp, state.in_excursion),
    )


def _previous_reading(job: PairJob) -> SignedReading | None:
    """The signed reading at the pair's `state.last_seq`, if the job has it."""
    if job.previous_row is None:
        return None
    return _signed(job.batch_id, job.device, job.previous_row)


def _reading_ids(job: PairJob) -> dict[int, int]:
    """Inbox row id by seq, of the job's pending readings and its previous one."""
    ids = {row[1]: row[0] for row in job.rows}
    if job.previous_row is not None:
        ids[job.previous_row[1]] = job.previous_row[0]
    return ids


class _PlanOptions(TypedDict):
    """The keyword arguments of `plan_window` a pair's job fixes."""

    now: float
    max_readings: int
    max_age_s: float


def _next_window(
    job: PairJob,
    state: PairState,
    readings: Sequence[SignedReading],
    received_at: Sequence[float],
    previous: SignedReading | None,
) -> tuple[int, bytes, WindowEvaluation | None] | Literal["awaits seq"] | None:
    """(count, packed, the rule engine's verdict or None when halted) of the pair's next
    window, if it is due: full, old, cut by packing, or deciding a quarantine; "awaits seq"
    when it may decide one but a seq before it is missing."""
    options: _PlanOptions = {
        "now": job.now,
        "max_readings": job.max_readings,
        "max_age_s": job.max_age_s,
    }
    plan = plan_window(readings, received_at, **options)
    if plan is None and not (job.watched and state.halted_reason is None):
        return None

    if plan is None and state.last_seq and readings[0].reading.seq != state.last_seq + 1:
        # A seq is missing before it (delivered out of order, or lost): deciding now could
        # quarantine on readings the missing one contradicts, so wait for it, at most until
        # the window is due anyway.
        return "awaits seq"
    run = plan or plan_window(readings, received_at, close_now=True, **options)
    assert run is not None
    verdict = None
    if state.halted_reason is None:
        verdict = evaluate_window(
            rule=job.rule,
            state=state.engine_state,
            submitted_seq=state.last_submitted_seq,
            readings=readings[: run.count],
            previous=previous,
        )
    if plan is None and not (
        verdict is not None and any(decision.quarantines for _, decision in verdict.to_submit)
    ):
        return None
    return run.count, run.packed, verdict


def _submission_chunks(
    verdict: WindowEvaluation | None, ids: dict[int, int], size: int
) -> list[tuple[list[int], list[int]]]:
    """(reading ids, decisions) of each `submitReadings` the verdict needs, `size` at most."""
    if verdict is None:
        return []
    return [
        (
            [ids[seq] for seq, _ in verdict.to_submit[start : start + size]],
            [int(decision) for _, decision in verdict.to_submit[start : start + size]],
        )
        for start in range(0, len(verdict.to_submit), size)
    ]


def _signed(batch_id: bytes, device: str, row: Any) -> SignedReading:
    """The signed reading of a `PENDING_COLUMNS` row."""
    _, seq, timestamp, temp_milli_c, humidity_permille, signature, _ = row
    return SignedReading(
        Reading.stored(device, batch_id, seq, timestamp, temp_milli_c, humidity_permille),
        signature,
    )


@dataclass
class WindowDraft:
    first_seq: int
    last_seq: int
    count: int
    merkle_root: bytes
    packed: bytes
    # (reading ids, decisions) of each submitReadings transaction
    submissions: list[tuple[list[int], list[int]]]


@dataclass
class PairDraft:
    batch_id: bytes
    device: str
    # (last_seq, last_submitted_seq, halted_reason) the draft was computed from
    before: tuple[int, int, str | None]
    # the pair's state after its last drafted window
    state: PairState
    windows: list[WindowDraft] = field(default_factory=list)
    # A reading that may decide a quarantine waits behind a missing seq (still watched).
    awaits_seq: bool = False
    # The pair's windows need its reading at `last_seq`, which the job was made without.
    needs_previous: bool = False
    # When the oldest of the read pending readings left after the windows was received.
    rest_oldest: float | None = None
