"""Window planning and rule evaluation: pure functions of a pair's pending readings.

`plan_window` says which of them form the next window and when it closes; `evaluate_window`
runs the rule engine over a window's readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oracle_bridge.errors import PackingError, RuleViolation
from oracle_bridge.packing import pack
from oracle_bridge.readings import SignedReading
from oracle_bridge.rules import ComplianceState, Decision, Rule, evaluate, readings_to_submit


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
    close_now: bool = False,
) -> WindowPlan | None:
    """The window to close now from a pair's pending readings (in seq order), or None.

    The window is the longest packable run of contiguous seqs from the first reading, at
    most `max_readings`; it closes when full, when the next reading cannot be packed with
    it, when its oldest reading was received `max_age_s` ago, or with `close_now` (a
    reading in it decides a quarantine).

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
    if close_now or count == max_readings or cut_by_packing or aged:
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
    A reading the contract would refuse (a precondition of RULES.md: a replayed or lower
    seq, a timestamp regression) halts evaluation there: `halted_reason` says why.
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
