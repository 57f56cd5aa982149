"""Windows: when they close, what they hold, and what the rule engine queues for the chain."""

from __future__ import annotations

from multiprocessing import get_context

import pytest
from sqlalchemy import select

from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import PackingError
from oracle_bridge.ingest import Ingestor
from oracle_bridge.merkle import MerkleTree, leaf
from oracle_bridge.native import PythonHotPath
from oracle_bridge.packing import pack, unpack
from oracle_bridge.rules import ComplianceState, Decision
from oracle_bridge.screening import Screened, screen_all
from oracle_bridge.store import (
    ComplianceSubmission,
    DeviceComplianceState,
    InboxReading,
    ReadingWindow,
    WindowStatus,
    reading_session,
)
from oracle_bridge.windows import WindowCloser, evaluate_window, plan_window
from oracle_bridge.windows import closer as closer_module
from oracle_bridge.windows import pool as pool_module
from tests.oracle_bridge.runtime.bridge_runtime_factories import (
    BATCH,
    DOMAIN,
    RULE,
    T0,
    CountingPool,
    payload,
    signed_of,
)

pytestmark = pytest.mark.unit


def closer(engine, rules, clock, **options) -> WindowCloser:
    values = {"max_readings": 1000, "max_age_s": 5.0, "submission_max_readings": 100}
    values.update(options)
    return WindowCloser(engine=engine, rules=rules, clock=clock, **values)


def feed(ingestor, device, seqs, **fields) -> None:
    for seq in seqs:
        per_seq = {k: v(seq) if callable(v) else v for k, v in fields.items()}
        result = ingestor.accept(payload(signed_of(device, seq, **per_seq)), source="t")
        assert result.status == "accepted", result


def windows(engine) -> list[ReadingWindow]:
    with reading_session(engine) as session:
        return list(session.scalars(select(ReadingWindow).order_by(ReadingWindow.first_seq)))


def submissions(engine) -> list[ComplianceSubmission]:
    with reading_session(engine) as session:
        return list(session.scalars(select(ComplianceSubmission).order_by(ComplianceSubmission.id)))


def submitted_seqs(engine) -> list[list[int]]:
    with reading_session(engine) as session:
        seq_of = dict(session.execute(select(InboxReading.id, InboxReading.seq)).all())
    return [[seq_of[i] for i in s.reading_ids] for s in submissions(engine)]


# -- plan_window (pure) -------------------------------------------------------------------


def test_plan_waits_for_more_readings_until_the_oldest_is_old_enough(device):
    readings = [signed_of(device, seq) for seq in (1, 2, 3)]
    received = [100.0, 101.0, 102.0]
    assert plan_window(readings, received, now=104.9, max_readings=10, max_age_s=5) is None
    plan = plan_window(readings, received, now=105.0, max_readings=10, max_age_s=5)
    assert plan is not None and plan.count == 3
    assert plan.packed == pack([r.reading for r in readings])


def test_plan_closes_a_full_window_at_once(device):
    readings = [signed_of(device, seq) for seq in range(1, 8)]
    plan = plan_window(readings, [100.0] * 7, now=100.0, max_readings=5, max_age_s=5)
    assert plan is not None and plan.count == 5


def test_plan_stops_at_a_seq_gap_and_waits_for_the_missing_seq(device):
    readings = [signed_of(device, seq) for seq in (1, 2, 4, 5)]
    assert plan_window(readings, [100.0] * 4, now=101.0, max_readings=3, max_age_s=5) is None
    plan = plan_window(readings, [100.0] * 4, now=105.0, max_readings=3, max_age_s=5)
    assert plan is not None and plan.count == 2


def test_plan_closes_before_a_reading_that_cannot_be_packed(device):
    readings = [
        signed_of(device, 1, timestamp=T0),
        signed_of(device, 2, timestamp=T0 + 60),
        signed_of(device, 3, timestamp=T0 + 60 + 70_000),  # more than uint16 seconds later
    ]
    plan = plan_window(readings, [100.0] * 3, now=100.0, max_readings=10, max_age_s=5)
    assert plan is not None and plan.count == 2


def test_plan_refuses_a_first_reading_that_cannot_be_packed(device):
    readings = [signed_of(device, 1, temp_milli_c=9_000_000)]
    with pytest.raises(PackingError):
        plan_window(readings, [100.0], now=200.0, max_readings=10, max_age_s=5)


# -- evaluate_window (pure) ---------------------------------------------------------------


def test_steady_readings_submit_nothing(device):
    verdict = evaluate_window(
        rule=RULE,
        state=ComplianceState(),
        submitted_seq=0,
        readings=[signed_of(device, seq) for seq in range(1, 6)],
        previous=None,
    )
    assert verdict.to_submit == []
    assert verdict.state == ComplianceState(last_seq=5, last_timestamp=T0 + 300)
    assert verdict.halted_reason is None


def test_every_reading_of_an_excursion_is_submitted(device):
    temps = {1: 5000, 2: 9000, 3: 9000, 4: 5000, 5: 5000}
    verdict = evaluate_window(
        rule=RULE,
        state=ComplianceState(),
        submitted_seq=0,
        readings=[signed_of(device, s, temp_milli_c=t) for s, t in temps.items()],
        previous=None,
    )
    assert verdict.to_submit == [
        (2, Decision.EXCURSION_STARTED),
        (3, Decision.EXCURSION_EXTENDED),
        (4, Decision.EXCURSION_ENDED),
    ]
    assert verdict.submitted_seq == 4


def test_a_data_gap_submits_the_reading_before_it_from_an_earlier_window(device):
    before = signed_of(device, 3)
    verdict = evaluate_window(
        rule=RULE,
        state=ComplianceState(last_seq=3, last_timestamp=before.reading.timestamp),
        submitted_seq=0,
        readings=[signed_of(device, 4, timestamp=before.reading.timestamp + 3601)],
        previous=before,
    )
    assert verdict.to_submit == [(3, Decision.NONE), (4, Decision.QUARANTINE_DATA_GAP)]


def test_a_seq_missing_during_an_excursion_quarantines(device):
    after_gap = signed_of(device, 3)
    verdict = evaluate_window(
        rule=RULE,
        state=ComplianceState(),
        submitted_seq=0,
        readings=[signed_of(device, 1, temp_milli_c=9000), after_gap],
        previous=None,
    )
    assert verdict.to_submit == [
        (1, Decision.EXCURSION_STARTED),
        (3, Decision.QUARANTINE_MISSING_EVIDENCE),
    ]
    assert verdict.state == ComplianceState(last_seq=3, last_timestamp=after_gap.reading.timestamp)
    assert verdict.halted_reason is None


# -- WindowCloser over the database -------------------------------------------------------


def test_closing_writes_window_marks_readings_and_advances_state(
    engine, ingestor, rules, device, clock
):
    feed(ingestor, device, range(1, 8))
    assert closer(engine, rules, clock).close_due() == []  # too young yet
    clock.now += 5
    (closed,) = closer(engine, rules, clock).close_due()
    assert (closed.first_seq, closed.last_seq, closed.submissions) == (1, 7, 0)
    (window,) = windows(engine)
    expected = [signed_of(device, seq).reading for seq in range(1, 8)]
    assert window.status == WindowStatus.PENDING
    assert window.merkle_root == MerkleTree([leaf(r) for r in expected]).root
    assert unpack(window.packed, batch_id=BATCH, first_seq=1) == expected
    with reading_session(engine) as session:
        assert {r.window_id for r in session.scalars(select(InboxReading))} == {window.id}
        state = session.get(DeviceComplianceState, (BATCH, device.address))
    assert state is not None
    assert (state.last_seq, state.last_timestamp, state.in_excursion) == (7, T0 + 420, False)
    assert submissions(engine) == []


def test_full_windows_close_at_once_and_split(engine, ingestor, rules, device, clock):
    feed(ingestor, device, range(1, 26))
    closed = closer(engine, rules, clock, max_readings=10).close_due()
    assert [(w.first_seq, w.last_seq) for w in closed] == [(1, 10), (11, 20)]
    clock.now += 5
    closed = closer(engine, rules, clock, max_readings=10).close_due()
    assert [(w.first_seq, w.last_seq) for w in closed] == [(21, 25)]


def screened(device, seq) -> Screened:
    (item,) = screen_all(
        [payload(signed_of(device, seq))],
        hot_path=PythonHotPath(),
        domain=DOMAIN,
        now=T0 + 100_000,
        max_message_bytes=4096,
        max_future_skew_s=300,
    )
    assert isinstance(item, Screened)
    return item


def feed_many(ingestor, device, seqs) -> None:
    results = ingestor.accept_many([payload(signed_of(device, s)) for s in seqs], source="t")
    assert {r.status for r in results} == {"accepted"}


IDLE = {"idle_s": 0.25, "idle_min_readings": 20}


def test_a_burst_closes_once_its_device_is_quiet_not_when_it_is_old(
    engine, ingestor, rules, device, clock
):
    feed_many(ingestor, device, range(1, 31))
    windows_of = closer(engine, rules, clock, **IDLE)
    clock.now += 0.2  # still sending, as far as the closer can tell
    assert windows_of.close_due() == []
    assert windows_of.seconds_until_due() == pytest.approx(0.05)
    clock.now += 0.05
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(1, 30)]


def test_a_quiet_device_with_few_readings_waits_for_the_age(engine, ingestor, rules, device, clock):
    feed_many(ingestor, device, range(1, 20))  # one short of the idle minimum
    clock.now += 1
    assert closer(engine, rules, clock, **IDLE).close_due() == []
    clock.now += 4
    assert len(closer(engine, rules, clock, **IDLE).close_due()) == 1


@pytest.mark.parametrize(
    ("windowed", "pending"),
    [
        ([], [*range(1, 11), *range(12, 32)]),  # a seq missing among the pending readings
        (range(1, 6), range(7, 37)),  # a seq missing right after the last window
    ],
)
def test_a_quiet_device_with_a_missing_seq_waits_for_it(
    engine, ingestor, rules, device, clock, windowed, pending
):
    if windowed:
        feed_many(ingestor, device, windowed)
        clock.now += 5
        assert len(closer(engine, rules, clock).close_due()) == 1
    feed_many(ingestor, device, pending)
    clock.now += 1
    assert closer(engine, rules, clock, **IDLE).close_due() == []
    clock.now += 4
    assert len(closer(engine, rules, clock, **IDLE).close_due()) >= 1


def test_idle_closing_continues_from_the_last_window(engine, ingestor, rules, device, clock):
    feed_many(ingestor, device, range(1, 26))
    windows_of = closer(engine, rules, clock, **IDLE)
    clock.now += 1
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(1, 25)]
    feed_many(ingestor, device, range(26, 51))
    clock.now += 1
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(26, 50)]


def test_a_bursts_last_readings_close_when_quiet_if_its_last_two_windows_hold_enough(
    engine, ingestor, rules, device, clock
):
    windows_of = closer(engine, rules, clock, **IDLE)  # 20 readings at least
    feed_many(ingestor, device, range(1, 26))
    clock.now += 1
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(1, 25)]
    feed_many(ingestor, device, range(26, 36))  # 10: with the last window's 25, under 40
    clock.now += 1
    assert windows_of.close_due() == []
    feed_many(ingestor, device, range(36, 41))  # 15: 40 with the last window's 25
    clock.now += 1
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(26, 40)]


def test_a_closer_forgets_pairs_quiet_for_a_day(engine, ingestor, rules, device, clock):
    """Per-pair memory follows the pairs active lately, not every pair ever seen: a day
    later the pair's last window no longer helps close a few readings for idleness."""
    windows_of = closer(engine, rules, clock, **IDLE)  # 20 readings at least
    feed_many(ingestor, device, range(1, 26))
    windows_of.notice([screened(device, seq) for seq in range(1, 26)])
    clock.now += 1
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(1, 25)]
    assert windows_of._last_window and windows_of._last_noticed

    clock.now += closer_module.FORGET_AFTER_S + closer_module.FORGET_EVERY_S
    assert windows_of.close_due() == []
    assert windows_of._last_window == {} and windows_of._last_noticed == {}
    feed_many(ingestor, device, range(26, 41))  # 15: with a remembered 25, twice 20
    clock.now += 1
    assert windows_of.close_due() == []


def test_a_pass_reads_the_inbox_again_when_readings_it_noticed_may_be_due(
    engine, ingestor, rules, device, clock
):
    windows_of = closer(engine, rules, clock, max_readings=10)
    assert windows_of.close_due() == []  # read: nothing pending
    feed_many(ingestor, device, range(1, 11))  # a full window, stored unnoticed
    clock.now += 0.5
    assert windows_of.close_due() == []  # not read again yet: nothing it knows of is due
    windows_of.notice([screened(device, seq) for seq in range(1, 11)])
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(1, 10)]


def test_readings_another_instance_stored_are_seen_within_the_rescan_interval(
    engine, ingestor, rules, device, clock
):
    windows_of = closer(engine, rules, clock, max_readings=10)
    assert windows_of.close_due() == []
    feed_many(ingestor, device, range(1, 11))  # as another instance would: never noticed
    clock.now += closer_module.RESCAN_S - 0.01
    assert windows_of.close_due() == []
    clock.now += 0.01
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(1, 10)]


def test_what_closed_windows_left_pending_comes_due_without_waiting_for_a_rescan(
    engine, ingestor, rules, device, clock
):
    windows_of = closer(engine, rules, clock, max_readings=10, max_age_s=0.5)
    for seqs in (range(1, 23), range(23, 26)):
        feed_many(ingestor, device, seqs)
        windows_of.notice([screened(device, seq) for seq in seqs])
        clock.now += 0.2
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(1, 10), (11, 20)]
    # 21 and 22 came first: due 0.5 s after them, not after the newest
    assert windows_of.seconds_until_due() == pytest.approx(0.1)
    clock.now += 0.1  # under the rescan interval: known due from what the windows left
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(21, 25)]
    assert windows_of.seconds_until_due() is None


def test_a_backlog_is_closed_in_runs_each_written_before_the_next_is_drafted(
    engine, ingestor, policy, rules, clock, monkeypatch
):
    """About `_RUN_READINGS` pending readings per run (a pair is never split): memory stays
    bounded on a backlog, and each run wakes the submitter once it is written."""
    monkeypatch.setattr(closer_module, "RUN_READINGS", 25)
    devices = [DeviceKey.generate() for _ in range(5)]
    for device in devices:
        policy.register(device.address, batch_id=BATCH)
        feed_many(ingestor, device, range(1, 11))
    written: list[int] = []

    def on_closed() -> None:
        written.append(len(windows(engine)))

    windows_of = closer(engine, rules, clock, max_readings=10, on_closed=on_closed)
    clock.now += 1
    closed = windows_of.close_due()
    assert sorted(w.device for w in closed) == sorted(d.address for d in devices)
    assert written == [3, 5]  # 30 readings, then 20: two transactions


def test_noticed_readings_set_when_the_next_window_is_due(engine, ingestor, rules, device, clock):
    windows_of = closer(engine, rules, clock)
    assert windows_of.close_due() == []
    assert windows_of.seconds_until_due() is None
    feed_many(ingestor, device, range(1, 4))
    windows_of.notice([screened(device, seq) for seq in range(1, 4)])
    clock.now += 0.5
    assert windows_of.close_due() == []
    assert windows_of.seconds_until_due() == pytest.approx(4.5)
    clock.now += 4.5
    assert [(w.first_seq, w.last_seq) for w in windows_of.close_due()] == [(1, 3)]


def test_a_seq_gap_starts_a_new_window(engine, ingestor, rules, device, clock):
    feed(ingestor, device, [1, 2, 3, 7, 8])
    clock.now += 5
    closed = closer(engine, rules, clock).close_due()
    assert [(w.first_seq, w.last_seq) for w in closed] == [(1, 3), (7, 8)]


def test_devices_get_windows_of_their_own(engine, ingestor, policy, rules, device, clock):
    other = DeviceKey.generate()
    policy.register(other.address, batch_id=BATCH)
    feed(ingestor, device, range(1, 4))
    feed(ingestor, other, range(1, 3))
    clock.now += 5
    closed = closer(engine, rules, clock).close_due()
    assert sorted((w.device, w.first_seq, w.last_seq) for w in closed) == sorted(
        [(device.address, 1, 3), (other.address, 1, 2)]
    )


def test_excursion_readings_are_queued_for_submission(engine, ingestor, rules, device, clock):
    temps = [5000, 9000, 9000, 9000, 5000, 5000]
    feed(ingestor, device, range(1, 7), temp_milli_c=lambda seq: temps[seq - 1])
    clock.now += 5
    (closed,) = closer(engine, rules, clock).close_due()
    assert closed.submissions == 1
    (submission,) = submissions(engine)
    assert submitted_seqs(engine) == [[2, 3, 4, 5]]
    assert submission.decisions == [1, 2, 2, 3]
    assert submission.window_id == windows(engine)[0].id


def test_submissions_are_split_into_transactions_of_bounded_size(
    engine, ingestor, rules, device, clock
):
    feed(ingestor, device, range(1, 12), temp_milli_c=lambda seq: 5000 if seq == 1 else 9000)
    clock.now += 5
    closer(engine, rules, clock, submission_max_readings=4).close_due()
    assert submitted_seqs(engine) == [[2, 3, 4, 5], [6, 7, 8, 9], [10, 11]]


def test_data_gap_across_windows_submits_the_previous_reading(
    engine, ingestor, rules, device, clock
):
    feed(ingestor, device, [1, 2])
    clock.now += 5
    closer(engine, rules, clock).close_due()
    gap_at = T0 + 120 + 3601
    feed(ingestor, device, [3], timestamp=gap_at)
    clock.now += 5
    closer(engine, rules, clock).close_due()
    assert submitted_seqs(engine) == [[2, 3]]
    assert submissions(engine)[0].decisions == [0, 6]
    assert [(w.first_seq, w.last_seq) for w in windows(engine)] == [(1, 2), (3, 3)]


def test_a_seq_withheld_during_an_excursion_quarantines_the_lot(
    engine, ingestor, rules, device, clock
):
    feed(ingestor, device, [1, 2], temp_milli_c=9000)
    feed(ingestor, device, [4, 5])  # seq 3 never arrives: the lot must not escape quarantine
    clock.now += 5
    closer(engine, rules, clock).close_due()
    assert [(w.first_seq, w.last_seq) for w in windows(engine)] == [(1, 2), (4, 5)]
    assert submitted_seqs(engine) == [[1, 2], [4]]
    assert [s.decisions for s in submissions(engine)] == [
        [Decision.EXCURSION_STARTED, Decision.EXCURSION_EXTENDED],
        [Decision.QUARANTINE_MISSING_EVIDENCE],
    ]
    with reading_session(engine) as session:
        state = session.get(DeviceComplianceState, (BATCH, device.address))
    assert state is not None and state.halted_reason is None
    assert (state.last_seq, state.in_excursion, state.excursion_start) == (5, False, 0)


def test_pairs_without_a_rule_wait(engine, ingestor, rules, device, clock):
    feed(ingestor, device, [1, 2])
    del rules.rules[BATCH]
    clock.now += 5
    assert closer(engine, rules, clock).close_due() == []
    assert windows(engine) == []


# -- closing at once on a quarantine ------------------------------------------------------


class Noticing:
    """An ingestor that reports what it stores to a window closer, as the bridge wires them;
    `accept` returns whether the closer took the batch for a possible quarantine."""

    def __init__(self, engine, policy, clock, windows_closer: WindowCloser) -> None:
        self.hints: list[bool] = []
        self.ingestor = Ingestor(
            engine=engine,
            domain=DOMAIN,
            policy=policy,
            clock=clock,
            on_stored=lambda items: self.hints.append(windows_closer.notice(items)),
        )

    def accept(self, device, temps: dict[int, int], **fields) -> bool:
        raws = [payload(signed_of(device, s, temp_milli_c=t, **fields)) for s, t in temps.items()]
        assert {r.status for r in self.ingestor.accept_many(raws, source="t")} == {"accepted"}
        return self.hints.pop()


def test_a_reading_that_decides_a_quarantine_closes_its_window_at_once(
    engine, policy, rules, device, clock
):
    windows_closer = closer(engine, rules, clock)
    noticing = Noticing(engine, policy, clock, windows_closer)
    # out of range from seq 2, 60 s apart: 600 s (seq 12) is still allowed, seq 13 is not
    assert noticing.accept(device, {1: 5000} | dict.fromkeys(range(2, 13), 9000))
    assert windows_closer.close_due() == []  # an excursion so far, nothing to decide at once

    assert noticing.accept(device, {13: 9000, 14: 9000})
    (closed,) = windows_closer.close_due()
    assert (closed.first_seq, closed.last_seq) == (1, 14)
    assert submissions(engine)[-1].decisions[-2:] == [
        Decision.QUARANTINE_EXCURSION,
        Decision.EXCURSION_STARTED,
    ]


@pytest.mark.parametrize(
    ("missing_temp", "decisions"),
    [
        (9000, [Decision.QUARANTINE_EXCURSION]),
        # The missing reading was in range: it ended the excursion, the next one is short,
        # so nothing is decided at once and the window closes when due.
        (5000, [Decision.EXCURSION_ENDED, Decision.EXCURSION_STARTED]),
    ],
)
def test_a_breach_behind_a_missing_seq_waits_for_it(
    engine, policy, rules, device, clock, missing_temp, decisions
):
    """Readings delivered out of order: deciding at once would judge the breach without
    the reading before it, which may end the excursion."""
    windows_closer = closer(engine, rules, clock)
    noticing = Noticing(engine, policy, clock, windows_closer)
    noticing.accept(device, {1: 5000} | dict.fromkeys(range(2, 6), 9000))
    clock.now += 5
    assert [(w.first_seq, w.last_seq) for w in windows_closer.close_due()] == [(1, 5)]

    # seq 13 is 660 s after the excursion's start at seq 2: too long, if seq 6 is out too
    assert noticing.accept(device, dict.fromkeys(range(7, 14), 9000))
    assert windows_closer.close_due() == []
    assert windows_closer.close_due() == [], "still waiting for seq 6, still watched"

    noticing.accept(device, {6: missing_temp})
    if Decision.QUARANTINE_EXCURSION not in decisions:
        assert windows_closer.close_due() == []
        clock.now += 5
    (closed,) = windows_closer.close_due()
    assert (closed.first_seq, closed.last_seq) == (6, 13)
    decided = [Decision(d) for s in submissions(engine) for d in s.decisions]
    quiet = (Decision.NONE, Decision.EXCURSION_EXTENDED)
    assert [d for d in decided if d not in quiet] == [Decision.EXCURSION_STARTED, *decisions]


def test_a_breach_behind_a_seq_that_never_comes_is_decided_once_its_window_is_due(
    engine, policy, rules, device, clock
):
    windows_closer = closer(engine, rules, clock)
    noticing = Noticing(engine, policy, clock, windows_closer)
    noticing.accept(device, {1: 5000, 2: 5000})
    clock.now += 5
    windows_closer.close_due()
    assert noticing.accept(device, {4: 26_000})  # past the hard limit, seq 3 never comes
    assert windows_closer.close_due() == []
    clock.now += 5
    (closed,) = windows_closer.close_due()
    assert (closed.first_seq, closed.last_seq) == (4, 4)
    assert submissions(engine)[-1].decisions == [Decision.QUARANTINE_HARD_LIMIT]


def test_a_hard_limit_or_a_data_gap_closes_at_once_and_in_range_readings_wait(
    engine, policy, rules, device, clock
):
    windows_closer = closer(engine, rules, clock)
    noticing = Noticing(engine, policy, clock, windows_closer)
    assert not noticing.accept(device, {1: 5000, 2: 5000})
    assert windows_closer.close_due() == []

    assert noticing.accept(device, {3: 26_000})
    assert [(w.first_seq, w.last_seq) for w in windows_closer.close_due()] == [(1, 3)]

    other = DeviceKey.generate()
    policy.register(other.address, batch_id=BATCH)
    assert not noticing.accept(other, {1: 5000})
    assert noticing.accept(other, {2: 5000}, timestamp=T0 + 60 + 3601)
    assert [(w.device, w.first_seq, w.last_seq) for w in windows_closer.close_due()] == [
        (other.address, 1, 2)
    ]
    assert submissions(engine)[-1].decisions == [Decision.NONE, Decision.QUARANTINE_DATA_GAP]


def test_drafting_in_worker_processes_closes_the_same_windows(databases, policy, rules, clock):
    """The workers read their pairs' rows from the database themselves (SQLite file or
    PostgreSQL) and draft what this process would."""
    devices = [DeviceKey.generate() for _ in range(pool_module.POOL_MIN_PAIRS + 1)]
    temps = {seq: 9000 if 40 <= seq <= 60 or seq == 150 else 5000 for seq in range(1, 201)}
    engines = [databases.engine(), databases.engine()]
    for device in devices:
        policy.register(device.address, batch_id=BATCH)
    for engine in engines:
        ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock)
        for device in devices:
            feed(ingestor, device, temps, temp_milli_c=lambda seq: temps[seq])
    clock.now += 5
    with CountingPool(2, mp_context=get_context("spawn")) as pool:
        in_workers = closer(engines[0], rules, clock, max_readings=64, drafting=pool).close_due()
    assert pool.submitted > 1  # the pairs went to the workers, in several tasks
    in_thread = closer(engines[1], rules, clock, max_readings=64).close_due()

    def shape(engine, closed):
        seqs = submitted_seqs(engine)
        return (
            sorted((w.device, w.first_seq, w.last_seq, w.submissions) for w in closed),
            sorted((w.device, w.first_seq, w.merkle_root, w.packed) for w in windows(engine)),
            sorted((s.device, seqs[n], s.decisions) for n, s in enumerate(submissions(engine))),
        )

    assert len(in_workers) == len(devices) * 4
    assert shape(engines[0], in_workers) == shape(engines[1], in_thread)


@pytest.mark.parametrize("others", [0, 250], ids=["one pair", "among 250 other pairs"])
def test_a_late_reading_stored_while_a_window_is_drafted_over_its_gap_waits_for_the_next_pass(
    databases, policy, rules, device, clock, others
):
    """Drafting happens outside the write transaction: a late seq stored in between, below
    the drafted window, makes the write give way; the next pass closes one window for all.
    Among other drafted pairs (the check asks for all of them in compound statements of
    up to 200), the late pair is found wherever it falls."""
    engine = databases.engine()
    ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock)
    for other in [DeviceKey.generate() for _ in range(others)]:
        policy.register(other.address, batch_id=BATCH)
        feed(ingestor, other, (1, 2, 3))
    policy.register(device.address, batch_id=BATCH)
    feed(ingestor, device, (1, 2, 4, 5))
    clock.now += 10
    window_closer = closer(engine, rules, clock)
    draft = window_closer._draft

    def draft_then_the_late_reading_arrives(*args, **kwargs):
        drafts = draft(*args, **kwargs)
        feed(ingestor, device, (3,))
        return drafts

    window_closer._draft = draft_then_the_late_reading_arrives
    assert window_closer.close_due() == []
    assert windows(engine) == []
    window_closer._draft = draft

    closed = window_closer.close_due()
    assert [(w.first_seq, w.last_seq) for w in closed if w.device == device.address] == [(1, 5)]
    assert len(closed) == others + 1
