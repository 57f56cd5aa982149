"""Window drafting in C (`_hotpath.c` `draft_window`) drafts exactly what the Python drafting
does: every window, packed bytes, Merkle root, compliance state and submission."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle_bridge.merkle import window_root
from oracle_bridge.native import HotPath, PythonHotPath, load_native
from oracle_bridge.packing import pack
from oracle_bridge.readings import Reading
from oracle_bridge.windows import drafting
from oracle_bridge.windows.drafting import PairDraft, PairJob, PairState, draft_pair
from tests.oracle_bridge.bridge_factories import BATCH_ID, DEVICE, RULE, T0

pytestmark = pytest.mark.unit

NOW = 1_000_000.0
NATIVE = load_native()
IN_PYTHON = PythonHotPath()
# The C hot path (the reference where it is missing: the first test then fails).
C: HotPath = NATIVE or IN_PYTHON
SIGNATURE = bytes(65)


def row(seq: int, timestamp: int, temp: int, received_at: float, humidity: int = 500) -> tuple:
    """A pending reading as `draft_pair` gets it (`windows.inbox.PENDING_COLUMNS`)."""
    return (1000 + seq, seq, timestamp, temp, humidity, SIGNATURE, received_at)


FRESH = PairState()


def job(rows: list[tuple], state: PairState = FRESH, **options: Any) -> PairJob:
    previous = None
    if state.last_seq:
        previous = row(state.last_seq, state.last_timestamp, 5000, NOW - 60)
    values: dict[str, Any] = {
        "batch_id": BATCH_ID,
        "device": DEVICE.address,
        "rule": RULE,
        "rows": rows,
        "state": state,
        "previous_row": previous,
        "previous_read": True,
        "now": NOW,
        "watched": False,
        "max_readings": 1000,
        "max_age_s": 5.0,
        "submission_max_readings": 100,
    }
    values.update(options)
    return PairJob(**values)


def drafted_in_c(pair_job: PairJob) -> PairDraft:
    return draft_pair(pair_job, hot_path=C)


def drafted_in_python(pair_job: PairJob) -> PairDraft:
    return draft_pair(pair_job, hot_path=IN_PYTHON)


def steady(count: int, *, first_seq: int = 1, received_at: float = NOW - 10) -> list[tuple]:
    seqs = range(first_seq, first_seq + count)
    return [row(seq, T0 + 60 * seq, 5000, received_at) for seq in seqs]


def test_windows_are_drafted_in_c_here(monkeypatch: pytest.MonkeyPatch) -> None:
    assert NATIVE is not None
    drafted = []
    real = drafting._benign_window

    def spy(*args: Any) -> Any:
        drafted.append(real(*args))
        return drafted[-1]

    monkeypatch.setattr(drafting, "_benign_window", spy)
    draft = drafted_in_c(job(steady(2500)))
    assert [type(result) for result in drafted] == [tuple, tuple, tuple]
    assert [w.count for w in draft.windows] == [1000, 1000, 500]


def test_a_steady_window_drafted_in_c_is_the_python_one() -> None:
    rows = steady(1000)
    draft = drafted_in_c(job(rows))
    readings = [
        Reading.stored(DEVICE.address, BATCH_ID, seq, timestamp, temp, humidity)
        for _, seq, timestamp, temp, humidity, _, _ in rows
    ]
    (window,) = draft.windows
    assert window.packed == pack(readings)
    assert window.merkle_root == window_root(readings, hot_path=IN_PYTHON)
    assert (draft.state.last_seq, draft.state.last_timestamp) == (1000, T0 + 60_000)
    assert draft == drafted_in_python(job(rows))


def test_a_window_not_due_yet_is_not_drafted() -> None:
    rows = steady(10, received_at=NOW - 1)
    assert drafted_in_c(job(rows)).windows == []
    assert drafted_in_python(job(rows)).windows == []


@pytest.mark.parametrize(
    "temps",
    [
        [5000, 9000, 9000, 5000],  # an excursion starts and ends
        [5000, 30000, 5000, 5000],  # a hard limit
        [5000, 1999, 5000, 5000],  # just below the range
        [5000, 8001, 5000, 5000],  # just above it
        [5000, 2000, 8000, 5000],  # on its bounds: in range
    ],
)
def test_windows_with_decisions_match_python(temps: list[int]) -> None:
    rows = [row(seq, T0 + 60 * seq, temp, NOW - 10) for seq, temp in enumerate(temps, 1)]
    assert drafted_in_c(job(rows)) == drafted_in_python(job(rows))


@pytest.mark.parametrize("gap_s", [599, 600, 601])
def test_a_data_gap_on_its_bound_matches_python(gap_s: int) -> None:
    rule = RULE.__class__(**{**_fields(RULE), "max_data_gap_seconds": 600})
    rows = [row(1, T0, 5000, NOW - 10), row(2, T0 + gap_s, 5000, NOW - 10)]
    assert drafted_in_c(job(rows, rule=rule)) == drafted_in_python(job(rows, rule=rule))


def test_a_pair_in_an_excursion_and_a_data_gap_match_python() -> None:
    in_excursion = PairState(last_seq=4, last_timestamp=T0, in_excursion=True, excursion_start=T0)
    rows = steady(6, first_seq=5)
    assert drafted_in_c(job(rows, in_excursion)) == drafted_in_python(job(rows, in_excursion))
    after_gap = PairState(last_seq=4, last_timestamp=T0 - 10_000, last_submitted_seq=0)
    assert drafted_in_c(job(rows, after_gap)) == drafted_in_python(job(rows, after_gap))


def test_a_window_is_cut_where_packing_refuses_as_in_python() -> None:
    # 70,000 s between seqs 3 and 4: 65,535 s is the most a packed record holds
    rows = [row(seq, T0 + 70_000 * (seq > 3) + seq, 5000, NOW - 1) for seq in range(1, 7)]
    draft = drafted_in_c(job(rows))
    assert [w.count for w in draft.windows] == [3]  # the rest is not due yet
    assert draft == drafted_in_python(job(rows))


# Mostly in range, so that whole windows are (a few readings out of range make most not).
temps = st.integers(0, 9).flatmap(
    lambda k: (
        st.integers(2000, 8000)
        if k
        else st.sampled_from([-5001, -5000, 1999, 8001, 25000, 25001, 9000, -8_388_608, 8_388_607])
    )
)


@st.composite
def pending_rows(draw: st.DrawFn) -> list[tuple]:
    rows, seq, timestamp = [], draw(st.integers(1, 5)), T0
    for _ in range(draw(st.integers(1, 40))):
        rows.append(row(seq, timestamp, draw(temps), NOW - draw(st.sampled_from([0, 3, 10]))))
        seq += draw(st.sampled_from([1, 1, 1, 1, 2]))
        timestamp += draw(st.sampled_from([0, 30, 600, 601, 4000, 65_535, 65_536, -1]))
    return rows


states = st.builds(
    PairState,
    last_seq=st.sampled_from([0, 1, 3]),
    last_timestamp=st.sampled_from([0, T0 - 100, T0 + 100]),
    in_excursion=st.booleans(),
    excursion_start=st.sampled_from([0, T0 - 2000]),
)


@settings(max_examples=300, deadline=None)
@given(
    pending_rows(),
    states,
    st.booleans(),
    st.integers(1, 12),
    st.sampled_from([0, 600]),
)
def test_drafting_in_c_matches_python_on_any_rows(
    rows: list[tuple], state: PairState, watched: bool, max_readings: int, max_gap: int
) -> None:
    rule = RULE.__class__(**{**_fields(RULE), "max_data_gap_seconds": max_gap})
    pair_job = job(rows, state, watched=watched, max_readings=max_readings, rule=rule)
    try:
        in_c: object = draft_pair(pair_job, hot_path=C)
    except Exception as exc:  # noqa: BLE001 - the Python drafting must raise the same
        in_c = type(exc)
    try:
        in_python: object = draft_pair(pair_job, hot_path=IN_PYTHON)
    except Exception as exc:  # noqa: BLE001
        in_python = type(exc)
    assert in_c == in_python


def _fields(rule: object) -> dict[str, object]:
    return {name: getattr(rule, name) for name in rule.__slots__}  # type: ignore[attr-defined]


def test_a_window_needing_the_rule_engine_asks_for_the_previous_reading_first() -> None:
    """Jobs are made without the reading at `last_seq`; only a pair whose windows need the
    Python rule engine (here an excursion) asks for it, and is drafted with it after."""
    state = PairState(last_seq=10, last_timestamp=int(NOW) - 100)
    excursion = [row(11 + n, int(NOW) - 90 + n, 9000, NOW - 60) for n in range(3)]
    benign = [row(11 + n, int(NOW) - 90 + n, 5000, NOW - 60) for n in range(3)]

    asks = drafted_in_c(job(excursion, state, previous_row=None, previous_read=False))
    plain = drafted_in_c(job(benign, state, previous_row=None, previous_read=False))
    full = drafted_in_c(job(excursion, state))

    assert asks.needs_previous and asks.windows == []
    assert not plain.needs_previous and [w.count for w in plain.windows] == [3]
    assert not full.needs_previous and full.windows and full.windows[0].submissions
