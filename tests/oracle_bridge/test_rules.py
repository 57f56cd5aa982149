"""The rule engine: RULES.md's details, its properties, and what the bridge submits."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oracle_bridge.errors import (
    BridgeError,
    InvalidRule,
    MissingPreviousReading,
    RuleViolation,
    StaleSequence,
    TimestampRegression,
)
from oracle_bridge.readings import Reading
from oracle_bridge.rules import (
    QUARANTINE_REASONS,
    ComplianceState,
    Decision,
    Rule,
    evaluate,
    must_submit,
    readings_to_submit,
)
from tests.oracle_bridge.bridge_factories import DEVICE, DOMAIN, RULE, T0, reading

pytestmark = pytest.mark.unit


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    low, high = draw(st.integers(-10_000, 10_000)), draw(st.integers(1, 10_000))
    return Rule(
        min_milli_c=low,
        max_milli_c=low + high,
        hard_min_milli_c=low - draw(st.integers(0, 5_000)),
        hard_max_milli_c=low + high + draw(st.integers(0, 5_000)),
        allowed_excursion_seconds=draw(st.integers(0, 3_000)),
        max_data_gap_seconds=draw(st.integers(0, 3_000)),
    )


@st.composite
def rule_and_stream(draw: st.DrawFn) -> tuple[Rule, list[Reading]]:
    """A rule and a stream of readings that mostly follow on, sometimes skip, replay or go back."""
    rule = draw(rules())
    temps = st.integers(rule.hard_min_milli_c - 2_000, rule.hard_max_milli_c + 2_000)
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from([1, 1, 1, 1, 2, 5, 0, -1]),
                st.integers(-30, 4_000),
                temps,
            ),
            max_size=40,
        )
    )
    seq, timestamp, stream = 1, T0, []
    for seq_step, time_step, temp in steps:
        seq, timestamp = max(seq + seq_step, 0), timestamp + time_step
        stream.append(reading(seq, timestamp, temp))
    return rule, stream


def run(rule: Rule, stream: list[Reading]) -> list[tuple[ComplianceState, Decision | None]]:
    """(state after, decision) per reading; a rejected reading: (unchanged state, None)."""
    state, results = ComplianceState(), []
    for r in stream:
        try:
            state, decision = evaluate(rule=rule, state=state, reading=r)
        except RuleViolation:
            results.append((state, None))
        else:
            results.append((state, decision))
    return results


# --- RULES.md details -------------------------------------------------------------------


def test_decision_numbers_are_the_contracts() -> None:
    assert [(d.name, d.value) for d in Decision] == [
        ("NONE", 0),
        ("EXCURSION_STARTED", 1),
        ("EXCURSION_EXTENDED", 2),
        ("EXCURSION_ENDED", 3),
        ("QUARANTINE_EXCURSION", 4),
        ("QUARANTINE_HARD_LIMIT", 5),
        ("QUARANTINE_DATA_GAP", 6),
        ("QUARANTINE_MISSING_EVIDENCE", 7),
    ]
    assert {d for d in Decision if d.quarantines} == set(QUARANTINE_REASONS)
    assert QUARANTINE_REASONS[Decision.QUARANTINE_DATA_GAP] == "cold-chain: data gap"
    assert (
        QUARANTINE_REASONS[Decision.QUARANTINE_MISSING_EVIDENCE]
        == "cold-chain: reading missing during excursion"
    )


def test_state_follows_an_excursion_through_its_end() -> None:
    state, decision = evaluate(rule=RULE, state=ComplianceState(), reading=reading(1, T0, 9000))
    assert decision is Decision.EXCURSION_STARTED
    assert state == ComplianceState(
        last_seq=1, last_timestamp=T0, in_excursion=True, excursion_start=T0
    )
    state, decision = evaluate(rule=RULE, state=state, reading=reading(2, T0 + 60, 5000))
    assert decision is Decision.EXCURSION_ENDED
    # RULES.md leaves excursionStart alone when an excursion ends; only a quarantine zeroes it
    assert state == ComplianceState(
        last_seq=2, last_timestamp=T0 + 60, in_excursion=False, excursion_start=T0
    )


def test_quarantine_zeroes_the_excursion() -> None:
    excursion = ComplianceState(
        last_seq=4, last_timestamp=T0 + 100, in_excursion=True, excursion_start=T0
    )
    state, decision = evaluate(rule=RULE, state=excursion, reading=reading(5, T0 + 1801, 9000))
    assert decision is Decision.QUARANTINE_EXCURSION
    assert state == ComplianceState(last_seq=5, last_timestamp=T0 + 1801)


def test_errors_carry_the_offending_values() -> None:
    state = ComplianceState(last_seq=7, last_timestamp=T0, in_excursion=True, excursion_start=T0)
    with pytest.raises(StaleSequence) as stale:
        evaluate(rule=RULE, state=state, reading=reading(7, T0))
    assert (stale.value.seq, stale.value.last_seq) == (7, 7)
    with pytest.raises(TimestampRegression) as regression:
        evaluate(rule=RULE, state=state, reading=reading(8, T0 - 1))
    assert (regression.value.timestamp, regression.value.last_timestamp) == (T0 - 1, T0)
    assert isinstance(stale.value, BridgeError)


@pytest.mark.parametrize(
    ("seq", "temp"),
    [(6, 5000), (6, 9000), (6, 1000), (6, 25_000), (6, -5000), (1000, 5000)],
    ids=["in range", "above max", "below min", "at hard max", "at hard min", "many missing"],
)
def test_a_seq_missing_in_an_excursion_quarantines_and_starts_afresh(seq: int, temp: int) -> None:
    excursion = ComplianceState(
        last_seq=4, last_timestamp=T0 + 60, in_excursion=True, excursion_start=T0
    )
    state, decision = evaluate(rule=RULE, state=excursion, reading=reading(seq, T0 + 120, temp))
    assert decision is Decision.QUARANTINE_MISSING_EVIDENCE
    assert state == ComplianceState(last_seq=seq, last_timestamp=T0 + 120)


def test_a_missing_seq_is_judged_after_the_hard_limit_and_before_the_data_gap() -> None:
    excursion = ComplianceState(
        last_seq=4, last_timestamp=T0, in_excursion=True, excursion_start=T0
    )
    _, decision = evaluate(rule=RULE, state=excursion, reading=reading(6, T0 + 60, 25_001))
    assert decision is Decision.QUARANTINE_HARD_LIMIT
    _, decision = evaluate(rule=RULE, state=excursion, reading=reading(6, T0 + 3601, 9000))
    assert decision is Decision.QUARANTINE_MISSING_EVIDENCE
    # outside an excursion a missing seq decides nothing, and no data gap either
    calm = replace(excursion, in_excursion=False)
    _, decision = evaluate(rule=RULE, state=calm, reading=reading(6, T0 + 3601))
    assert decision is Decision.NONE


@pytest.mark.parametrize(
    "change",
    [
        {"min_milli_c": 8000},
        {"min_milli_c": 9000},
        {"hard_min_milli_c": 2001},
        {"hard_max_milli_c": 7999},
        {"allowed_excursion_seconds": -1},
        {"max_data_gap_seconds": 2**32},
        {"max_milli_c": 2**31},
        {"require_calibration": 1},
    ],
)
def test_invalid_rules_are_rejected(change: dict[str, object]) -> None:
    with pytest.raises(InvalidRule):
        replace(RULE, **change)  # type: ignore[arg-type]


def test_rule_equal_limits_are_valid() -> None:
    Rule(
        min_milli_c=0,
        max_milli_c=1,
        hard_min_milli_c=0,
        hard_max_milli_c=1,
        allowed_excursion_seconds=0,
        max_data_gap_seconds=0,
        require_calibration=True,
    )


def test_rule_from_json_object() -> None:
    obj = {
        "allowedExcursionSeconds": 1800,
        "hardMaxMilliC": 25000,
        "hardMinMilliC": -5000,
        "maxDataGapSeconds": 3600,
        "maxMilliC": 8000,
        "minMilliC": 2000,
    }
    assert Rule.from_json_object(obj) == RULE
    assert Rule.from_json_object(obj | {"requireCalibration": True}).require_calibration
    with pytest.raises(InvalidRule, match="minMilliC"):
        Rule.from_json_object({k: v for k, v in obj.items() if k != "minMilliC"})
    with pytest.raises(InvalidRule, match="unknown"):
        Rule.from_json_object(obj | {"minC": 2})


# --- properties -------------------------------------------------------------------------


@given(rule_and_stream())
def test_last_seq_only_grows_and_rejections_change_nothing(
    case: tuple[Rule, list[Reading]],
) -> None:
    rule, stream = case
    previous = ComplianceState()
    for r, (state, decision) in zip(stream, run(rule, stream), strict=True):
        if decision is None:
            assert state == previous
        else:
            assert state.last_seq == r.seq > previous.last_seq
            assert state.last_timestamp == r.timestamp >= previous.last_timestamp
        previous = state


@given(rules(), st.data())
def test_steady_in_range_stream_never_quarantines(rule: Rule, data: st.DataObject) -> None:
    longest_step = rule.max_data_gap_seconds or 10**6
    steps = data.draw(st.lists(st.integers(0, longest_step), max_size=50))
    temps = st.integers(rule.min_milli_c, rule.max_milli_c)
    timestamp, stream = T0, []
    for seq, step in enumerate(steps, start=1):
        timestamp += step
        stream.append(reading(seq, timestamp, data.draw(temps)))
    assert {decision for _, decision in run(rule, stream)} <= {Decision.NONE}


@given(rules(), st.data())
def test_excursion_quarantines_iff_longer_than_allowed(rule: Rule, data: st.DataObject) -> None:
    rule = replace(rule, max_data_gap_seconds=0)
    length = data.draw(st.integers(0, 2 * rule.allowed_excursion_seconds + 10))
    inner = data.draw(st.lists(st.integers(0, length), max_size=10))
    offsets = sorted({0, length, *inner})
    sides = []
    if rule.max_milli_c < rule.hard_max_milli_c:
        sides.append(st.integers(rule.max_milli_c + 1, rule.hard_max_milli_c))
    if rule.min_milli_c > rule.hard_min_milli_c:
        sides.append(st.integers(rule.hard_min_milli_c, rule.min_milli_c - 1))
    assume(sides)
    out_of_range = st.one_of(sides)
    stream = [reading(1, T0, rule.min_milli_c)]
    stream += [
        reading(i, T0 + offset, data.draw(out_of_range)) for i, offset in enumerate(offsets, 2)
    ]
    decisions = [decision for _, decision in run(rule, stream)]
    quarantined = Decision.QUARANTINE_EXCURSION in decisions
    assert quarantined == (length > rule.allowed_excursion_seconds)
    if quarantined:  # at the first reading past the allowance, not before
        first_late = next(i for i, o in enumerate(offsets) if o > rule.allowed_excursion_seconds)
        assert decisions.index(Decision.QUARANTINE_EXCURSION) == 1 + first_late


@given(rule_and_stream(), st.data())
def test_hard_limit_always_quarantines(
    case: tuple[Rule, list[Reading]], data: st.DataObject
) -> None:
    rule, stream = case
    state = run(rule, stream)[-1][0] if stream else ComplianceState()
    beyond = data.draw(
        st.integers(-(2**31), rule.hard_min_milli_c - 1)
        | st.integers(rule.hard_max_milli_c + 1, 2**31 - 1)
    )
    timestamp = state.last_timestamp + data.draw(st.integers(0, 10**6))
    after, decision = evaluate(
        rule=rule, state=state, reading=reading(state.last_seq + 1, timestamp, beyond)
    )
    assert decision is Decision.QUARANTINE_HARD_LIMIT
    assert not after.in_excursion and after.excursion_start == 0


@given(rule_and_stream())
def test_a_missing_seq_never_stalls_an_excursion(case: tuple[Rule, list[Reading]]) -> None:
    """Whatever came before, the first accepted reading after a missing seq in an excursion
    quarantines: withholding readings cannot keep a lot out of quarantine."""
    rule, stream = case
    state = ComplianceState()
    for r in stream:
        try:
            after, decision = evaluate(rule=rule, state=state, reading=r)
        except RuleViolation:
            continue
        if state.in_excursion and r.seq != state.last_seq + 1:
            assert decision.quarantines
        state = after


@settings(deadline=None)
@given(rule_and_stream())
def test_the_contract_decides_alike_on_just_the_submitted_readings(
    case: tuple[Rule, list[Reading]],
) -> None:
    """Replays what the bridge sends to the chain: the chain's engine, fed only those readings,
    must make the same decision for each reading the bridge decided on."""
    rule, stream = case
    local = chain = ComplianceState()
    previous = None
    for r in stream:
        signed = DEVICE.sign(r, domain=DOMAIN)
        try:
            after, decision = evaluate(rule=rule, state=local, reading=r)
        except RuleViolation:
            continue
        if local.in_excursion:  # so the chain sees the same missing seq
            assert chain == local
        for sent in readings_to_submit(
            state_before=local,
            decision=decision,
            reading=signed,
            previous=previous,
            submitted_seq=chain.last_seq,
        ):
            chain, chain_decision = evaluate(rule=rule, state=chain, reading=sent.reading)
            assert chain_decision == (decision if sent is signed else Decision.NONE)
        assert chain.in_excursion == after.in_excursion
        local, previous = after, signed


# --- what the bridge submits ------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_excursion", "decision", "expected"),
    [
        (False, Decision.NONE, False),
        (True, Decision.NONE, True),  # cannot happen, but evidence in an excursion always goes
        (False, Decision.EXCURSION_STARTED, True),
        (True, Decision.EXCURSION_EXTENDED, True),
        (True, Decision.EXCURSION_ENDED, True),
        (False, Decision.QUARANTINE_HARD_LIMIT, True),
        (False, Decision.QUARANTINE_DATA_GAP, True),
        (True, Decision.QUARANTINE_MISSING_EVIDENCE, True),
    ],
)
def test_must_submit(in_excursion: bool, decision: Decision, expected: bool) -> None:
    state = ComplianceState(last_seq=1, last_timestamp=T0, in_excursion=in_excursion)
    assert must_submit(state_before=state, decision=decision) is expected


def test_data_gap_submits_the_previous_reading_first() -> None:
    previous = DEVICE.sign(reading(4, T0), domain=DOMAIN)
    current = DEVICE.sign(reading(5, T0 + 3601), domain=DOMAIN)
    before = ComplianceState(last_seq=4, last_timestamp=T0)
    gap = Decision.QUARANTINE_DATA_GAP
    submit = readings_to_submit(
        state_before=before, decision=gap, reading=current, previous=previous, submitted_seq=2
    )
    assert submit == (previous, current)
    # the chain already has the previous reading: send it once only
    submit = readings_to_submit(
        state_before=before, decision=gap, reading=current, previous=previous, submitted_seq=4
    )
    assert submit == (current,)
    with pytest.raises(MissingPreviousReading):
        readings_to_submit(
            state_before=before, decision=gap, reading=current, previous=None, submitted_seq=2
        )
    with pytest.raises(MissingPreviousReading):
        readings_to_submit(
            state_before=before, decision=gap, reading=current, previous=current, submitted_seq=2
        )


def test_a_missing_seq_in_an_excursion_submits_just_the_reading() -> None:
    """The reading before the gap was in the excursion, so the chain has it already."""
    previous = DEVICE.sign(reading(4, T0 + 60, 9000), domain=DOMAIN)
    current = DEVICE.sign(reading(6, T0 + 120, 5000), domain=DOMAIN)
    before = ComplianceState(last_seq=4, last_timestamp=T0 + 60, in_excursion=True)
    submit = readings_to_submit(
        state_before=before,
        decision=Decision.QUARANTINE_MISSING_EVIDENCE,
        reading=current,
        previous=previous,
        submitted_seq=4,
    )
    assert submit == (current,)


def test_nothing_to_submit_for_an_unremarkable_reading() -> None:
    current = DEVICE.sign(reading(5, T0 + 60), domain=DOMAIN)
    before = ComplianceState(last_seq=4, last_timestamp=T0)
    assert (
        readings_to_submit(
            state_before=before,
            decision=Decision.NONE,
            reading=current,
            previous=None,
            submitted_seq=0,
        )
        == ()
    )
