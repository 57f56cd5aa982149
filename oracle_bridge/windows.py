"""Anchoring windows: each (batch, device)'s inbox readings cut into contiguous windows.

A window closes when it holds `max_readings` readings, when its oldest reading waited
`max_age_s` (so a missing seq delays it at most that long: packing needs contiguous seqs,
so a gap starts a new window), or when the next reading cannot be packed with it. Closing
runs the rule engine over the window in seq order and, in one transaction, writes the
window (the anchoring outbox), marks its readings, advances the compliance state and writes
the `submitReadings` outbox entries for the readings the contract must see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from oracle_bridge.errors import ChainUnavailable, NoRule, PackingError, RuleViolation
from oracle_bridge.merkle import MerkleTree, leaf
from oracle_bridge.packing import pack
from oracle_bridge.policy import RuleSource
from oracle_bridge.readings import SignedReading
from oracle_bridge.rules import ComplianceState, Decision, Rule, evaluate, readings_to_submit
from oracle_bridge.store import (
    ComplianceSubmission,
    DeviceComplianceState,
    InboxReading,
    ReadingWindow,
    reading_session,
    signed_reading_of,
    writing,
)

log = logging.getLogger(__name__)
_INBOX = InboxReading.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WindowPlan:
    """The first `count` pending readings form the next window, packed as `packed`."""

    count: int
    packed: bytes


def plan_window(
    readings: Sequence[SignedReading],
    received_at: Sequence[float],
    *,
    now: float,
    max_readings: int,
    max_age_s: float,
) -> WindowPlan | None:
    """The window to close now from a pair's pending readings (in seq order), or None.

    The window is the longest packable run of contiguous seqs from the first reading, at
    most `max_readings`; it closes when full, when the next reading cannot be packed with
    it, or when its oldest reading was received `max_age_s` ago.

    Raises:
        PackingError: the first reading cannot be packed at all.
    """
    if not readings:
        return None
    count = 1
    while (
        count < min(len(readings), max_readings)
        and readings[count].reading.seq == readings[count - 1].reading.seq + 1
    ):
        count += 1
    plain = [signed.reading for signed in readings[:count]]
    cut_by_packing = False
    try:
        packed = pack(plain)
    except PackingError as exc:
        if exc.index == 0:
            raise
        count, cut_by_packing = exc.index, True
        packed = pack(plain[:count])
    aged = now - min(received_at[:count]) >= max_age_s
    if count == max_readings or cut_by_packing or aged:
        return WindowPlan(count=count, packed=packed)
    return None


@dataclass(frozen=True)
class WindowEvaluation:
    """The rule engine's verdict on one window's readings."""

    state: ComplianceState
    # (seq, decision) of every reading the contract must see, in order.
    to_submit: list[tuple[int, Decision]]
    submitted_seq: int
    halted_reason: str | None = None


def evaluate_window(
    *,
    rule: Rule,
    state: ComplianceState,
    submitted_seq: int,
    readings: Sequence[SignedReading],
    previous: SignedReading | None,
) -> WindowEvaluation:
    """Run the rule engine over `readings` (seq order) from `state`.

    `submitted_seq` is the last seq already queued for the chain; `previous` the reading
    with seq `state.last_seq`, which a data gap at the first reading needs submitted too.
    A reading the contract would refuse (a precondition of RULES.md, e.g. a seq missing
    during an excursion) halts evaluation there: `halted_reason` says why.
    """
    to_submit: list[tuple[int, Decision]] = []
    for signed in readings:
        try:
            new_state, decision = evaluate(rule=rule, state=state, reading=signed.reading)
        except RuleViolation as exc:
            return WindowEvaluation(state, to_submit, submitted_seq, halted_reason=str(exc))
        for chosen in readings_to_submit(
            state_before=state,
            decision=decision,
            reading=signed,
            previous=previous,
            submitted_seq=submitted_seq,
        ):
            seq = chosen.reading.seq
            to_submit.append((seq, decision if seq == signed.reading.seq else Decision.NONE))
            submitted_seq = seq
        state, previous = new_state, signed
    return WindowEvaluation(state, to_submit, submitted_seq)


@dataclass(frozen=True)
class ClosedWindow:
    window_id: int
    batch_id: bytes
    device: str
    first_seq: int
    last_seq: int
    submissions: int


class WindowCloser:
    """Closes due windows; safe to run next to ingestion (each window is one transaction)."""

    def __init__(
        self,
        *,
        engine: Engine,
        rules: RuleSource,
        max_readings: int = 1000,
        max_age_s: float = 5.0,
        submission_max_readings: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.max_readings = max_readings
        self.max_age_s = max_age_s
        self.submission_max_readings = submission_max_readings
        self._clock = clock

    def close_due(self) -> list[ClosedWindow]:
        """Close every window that is due now; pairs whose rule cannot be read wait."""
        closed = []
        for batch_id, device in self._due_pairs(self._clock()):
            try:
                rule = self.rules.rule(batch_id)
            except (NoRule, ChainUnavailable) as exc:
                log.warning("windows of %s on 0x%s wait: %s", device, batch_id.hex(), exc)
                continue
            while (window := self._close_next(batch_id, device, rule)) is not None:
                closed.append(window)
        return closed

    def _due_pairs(self, now: float) -> list[tuple[bytes, str]]:
        pending = (
            select(InboxReading.batch_id, InboxReading.device)
            .where(InboxReading.window_id.is_(None))  # type: ignore[union-attr]
            .group_by(InboxReading.batch_id, InboxReading.device)
            .having(
                (func.count() >= self.max_readings)
                | (func.min(InboxReading.received_at) <= now - self.max_age_s)
            )
        )
        with reading_session(self.engine) as session:
            return [(row.batch_id, row.device) for row in session.execute(pending)]

    def _close_next(self, batch_id: bytes, device: str, rule: Rule) -> ClosedWindow | None:
        draft = self._draft(batch_id, device, rule)
        if draft is None:
            return None
        try:
            return self._write(draft)
        except (_Conflict, IntegrityError):
            # Another closer took these readings first; the next pass starts from its result.
            log.info("window of %s on 0x%s was closed concurrently", device, batch_id.hex())
            return None

    def _draft(self, batch_id: bytes, device: str, rule: Rule) -> _Draft | None:
        """Everything the next window writes, computed outside any write transaction so
        ingestion is never held up by the hashing and the rule engine."""
        with reading_session(self.engine) as session:
            # Core rows, not ORM objects: a window loads up to `max_readings` of them.
            rows = session.execute(
                select(_INBOX)
                .where(
                    _INBOX.c.batch_id == batch_id,
                    _INBOX.c.device == device,
                    _INBOX.c.window_id.is_(None),
                )
                .order_by(_INBOX.c.seq)
                .limit(self.max_readings)
            ).all()
            signed = [signed_reading_of(row) for row in rows]
            plan = plan_window(
                signed,
                [row.received_at for row in rows],
                now=self._clock(),
                max_readings=self.max_readings,
                max_age_s=self.max_age_s,
            )
            if plan is None:
                return None
            rows, signed = rows[: plan.count], signed[: plan.count]
            stored = session.get(DeviceComplianceState, (batch_id, device))
            before = stored or DeviceComplianceState(batch_id=batch_id, device=device)
            previous_row = None
            if before.last_seq and before.halted_reason is None:
                previous_row = session.execute(
                    select(_INBOX).where(_INBOX.c.device == device, _INBOX.c.seq == before.last_seq)
                ).first()
        draft = _Draft(
            window=ReadingWindow(
                batch_id=batch_id,
                device=device,
                first_seq=rows[0].seq,
                last_seq=rows[-1].seq,
                merkle_root=MerkleTree([leaf(s.reading) for s in signed]).root,
                packed=plan.packed,
                created_at=self._clock(),
            ),
            count=plan.count,
            before=(before.last_seq, before.last_submitted_seq, before.halted_reason),
            state=DeviceComplianceState(**before.model_dump()),
        )
        if before.halted_reason is not None:
            return draft
        verdict = evaluate_window(
            rule=rule,
            state=before.engine_state,
            submitted_seq=before.last_submitted_seq,
            readings=signed,
            previous=signed_reading_of(previous_row) if previous_row is not None else None,
        )
        draft.state.advance(verdict.state)
        draft.state.last_submitted_seq = verdict.submitted_seq
        if verdict.halted_reason is not None:
            draft.state.halted_reason = verdict.halted_reason
            log.error(
                "compliance of %s on 0x%s halted: %s; the contract would refuse its readings",
                device,
                batch_id.hex(),
                verdict.halted_reason,
            )
        ids = {row.seq: row.id for row in rows}
        if previous_row is not None:
            ids[previous_row.seq] = previous_row.id
        for start in range(0, len(verdict.to_submit), self.submission_max_readings):
            chunk = verdict.to_submit[start : start + self.submission_max_readings]
            draft.submissions.append(
                ([ids[seq] for seq, _ in chunk], [int(decision) for _, decision in chunk])
            )
        return draft

    def _write(self, draft: _Draft) -> ClosedWindow:
        """Write the drafted window, its readings' marks, state and submissions at once.

        Raises:
            _Conflict: the pair's state or readings changed since the draft was made.
        """
        window = draft.window
        with writing(self.engine) as session:
            stored = session.get(DeviceComplianceState, (window.batch_id, window.device))
            current = (
                (stored.last_seq, stored.last_submitted_seq, stored.halted_reason)
                if stored
                else (0, 0, None)
            )
            if current != draft.before:
                raise _Conflict
            session.add(window)
            session.flush()
            assert window.id is not None
            taken = session.execute(
                update(_INBOX)
                .where(
                    _INBOX.c.device == window.device,
                    _INBOX.c.seq >= window.first_seq,
                    _INBOX.c.seq <= window.last_seq,
                    _INBOX.c.window_id.is_(None),
                )
                .values(window_id=window.id)
            ).rowcount
            if taken != draft.count:
                raise _Conflict
            session.merge(draft.state)
            now = self._clock()
            for reading_ids, decisions in draft.submissions:
                session.add(
                    ComplianceSubmission(
                        batch_id=window.batch_id,
                        device=window.device,
                        window_id=window.id,
                        reading_ids=reading_ids,
                        decisions=decisions,
                        created_at=now,
                    )
                )
        return ClosedWindow(
            window.id,
            window.batch_id,
            window.device,
            window.first_seq,
            window.last_seq,
            len(draft.submissions),
        )


@dataclass
class _Draft:
    window: ReadingWindow
    count: int
    # (last_seq, last_submitted_seq, halted_reason) the draft was computed from
    before: tuple[int, int, str | None]
    state: DeviceComplianceState
    submissions: list[tuple[list[int], list[int]]] = field(default_factory=list)


class _Conflict(Exception):
    """The pair changed between drafting and writing a window."""
