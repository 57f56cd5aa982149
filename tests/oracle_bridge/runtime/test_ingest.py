"""Ingestor.accept: every rejection is dead-lettered verbatim and changes nothing else."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import replace
from multiprocessing import get_context

import pytest
from sqlalchemy import event, func, select

from ledger_client.errors import ChainUnavailable, revert_class
from oracle_bridge.conditions import Conditions
from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import StoreUnavailable
from oracle_bridge.ingest import SIGNATURE_MISMATCH, Ingestor
from oracle_bridge.native import PythonHotPath
from oracle_bridge.policy import UNCALIBRATED_DEVICE
from oracle_bridge.policy.memory import InMemoryDevicePolicy, InMemoryRuleSource
from oracle_bridge.readings import ReadingDomain, SignedReading
from oracle_bridge.store import InboxReading, reading_session
from oracle_bridge.verification import SECP256K1_N
from oracle_bridge.windows import WindowCloser
from tests.oracle_bridge.runtime.bridge_runtime_factories import (
    BATCH,
    DOMAIN,
    OTHER_BATCH,
    RULE,
    T0,
    CountingPool,
    dead_letters,
    payload,
    signed_of,
    snapshot,
    with_fields,
)

pytestmark = pytest.mark.unit


def inbox(engine) -> list[InboxReading]:
    with reading_session(engine) as session:
        return list(session.scalars(select(InboxReading).order_by(InboxReading.seq)))


def assert_rejected(ingestor, raw: bytes, *, reason: str, code: str, device=None, seq=None):
    """Accept `raw`, expect a rejection, one new dead letter, and no other change."""
    before = snapshot(ingestor.engine)
    letters_before = len(dead_letters(ingestor.engine))
    result = ingestor.accept(raw, source="test")
    assert (result.status, result.reason) == ("rejected", reason)
    assert (result.device, result.seq) == (device, seq)
    letters = dead_letters(ingestor.engine)
    assert len(letters) == letters_before + 1
    letter = letters[-1]
    assert (letter.reason, letter.reason_code, letter.source) == (reason, code, "test")
    assert letter.payload == raw
    assert (letter.device, letter.seq) == (device, seq)
    assert snapshot(ingestor.engine) == before


def test_a_valid_reading_is_stored_with_its_digest(ingestor, device):
    signed = signed_of(device, 1)
    result = ingestor.accept(payload(signed), source="mqtt:provenance/readings/x")
    assert (result.status, result.reason, result.device, result.seq) == (
        "accepted",
        None,
        device.address,
        1,
    )
    (row,) = inbox(ingestor.engine)
    assert row.signed_reading() == signed
    assert row.source == "mqtt:provenance/readings/x"
    assert row.window_id is None
    assert dead_letters(ingestor.engine) == []


def test_redelivery_is_a_duplicate_and_not_dead_lettered(ingestor, device):
    raw = payload(signed_of(device, 1))
    assert ingestor.accept(raw, source="mqtt").status == "accepted"
    before = snapshot(ingestor.engine)
    result = ingestor.accept(raw, source="mqtt")
    assert (result.status, result.reason, result.seq) == ("duplicate", None, 1)
    assert dead_letters(ingestor.engine) == []
    assert snapshot(ingestor.engine) == before


def test_forged_signature_is_rejected(ingestor, device):
    forger = DeviceKey.generate()
    forged = forger.sign(signed_of(forger, 1).reading, domain=DOMAIN)
    raw = with_fields(forged, device=device.address)
    assert_rejected(
        ingestor,
        raw,
        reason=SIGNATURE_MISMATCH,
        code="signature_mismatch",
        device=device.address,
        seq=1,
    )


@pytest.mark.parametrize(
    "domain",
    [
        ReadingDomain(chain_id=1, verifying_contract=DOMAIN.verifying_contract),
        ReadingDomain(chain_id=DOMAIN.chain_id, verifying_contract="0x" + "d1" * 20),
    ],
    ids=["another chain", "another contract"],
)
def test_signature_for_another_domain_is_rejected(ingestor, device, domain):
    raw = payload(signed_of(device, 1, domain=domain))
    assert_rejected(
        ingestor,
        raw,
        reason=SIGNATURE_MISMATCH,
        code="signature_mismatch",
        device=device.address,
        seq=1,
    )


def test_high_s_signature_is_rejected_as_invalid(ingestor, device):
    signed = signed_of(device, 1)
    s = int.from_bytes(signed.signature[32:64], "big")
    flipped = (
        signed.signature[:32]
        + (SECP256K1_N - s).to_bytes(32, "big")
        + bytes([55 - signed.signature[64]])
    )
    raw = payload(SignedReading(reading=signed.reading, signature=flipped))
    assert_rejected(
        ingestor,
        raw,
        reason="invalid signature: s is in the upper half of the curve order (malleable signature)",
        code="invalid_signature",
        device=device.address,
        seq=1,
    )


def test_short_signature_is_rejected_as_invalid(ingestor, device):
    signed = signed_of(device, 1)
    raw = payload(SignedReading(reading=signed.reading, signature=signed.signature[:64]))
    assert_rejected(
        ingestor,
        raw,
        reason="invalid signature: 64-byte (EIP-2098) signatures are not accepted; send r||s||v",
        code="invalid_signature",
        device=device.address,
        seq=1,
    )


def test_replayed_seq_with_different_content_is_rejected(ingestor, device):
    assert ingestor.accept(payload(signed_of(device, 5)), source="t").status == "accepted"
    replay = payload(signed_of(device, 5, temp_milli_c=5100))
    assert_rejected(
        ingestor,
        replay,
        reason="replayed seq with different content",
        code="replayed_seq",
        device=device.address,
        seq=5,
    )


def test_a_reading_delivered_after_a_higher_seq_is_accepted(ingestor, device):
    """Two bridge instances or a gateway's retry can deliver a device's readings out of
    order: nothing is windowed yet, so the earlier seq still fits."""
    for seq in (5, 3, 4):
        assert ingestor.accept(payload(signed_of(device, seq)), source="t").status == "accepted"
    assert [row.seq for row in inbox(ingestor.engine)] == [3, 4, 5]
    again = ingestor.accept(payload(signed_of(device, 4)), source="t")
    assert again.status == "duplicate"
    assert dead_letters(ingestor.engine) == []


def test_accept_many_takes_a_device_s_readings_in_any_order(ingestor, device):
    raws = [payload(signed_of(device, seq)) for seq in (2, 1, 4, 3, 1)]
    results = ingestor.accept_many(raws, source="t")
    assert [r.status for r in results] == ["accepted"] * 4 + ["duplicate"]
    assert [row.seq for row in inbox(ingestor.engine)] == [1, 2, 3, 4]


def test_lower_seq_than_a_windowed_reading_is_rejected(ingestor, device, rules, clock):
    feed = [payload(signed_of(device, seq)) for seq in (1, 2, 5)]
    assert {r.status for r in ingestor.accept_many(feed, source="t")} == {"accepted"}
    clock.now += 10
    closed = WindowCloser(engine=ingestor.engine, rules=rules, clock=clock).close_due()
    assert [(w.first_seq, w.last_seq) for w in closed] == [(1, 2), (5, 5)]
    for seq in (3, 4):
        assert_rejected(
            ingestor,
            payload(signed_of(device, seq)),
            reason="lower seq than a reading already anchored in a window",
            code="lower_seq",
            device=device.address,
            seq=seq,
        )


@pytest.mark.parametrize(
    ("stored", "seq", "timestamps", "reason"),
    [
        # a late seq 4 must fit between its stored neighbours 3 and 5, on either side
        (
            (3, 5),
            4,
            (T0 + 60 * 3 - 1, T0 + 60 * 5 + 1),
            "timestamp out of order with the device's neighbouring readings",
        ),
        ((5,), 6, (T0,), "timestamp before the device's previous reading"),
    ],
    ids=["late reading between its neighbours", "before the previous reading"],
)
def test_a_timestamp_out_of_order_is_rejected(ingestor, device, stored, seq, timestamps, reason):
    for stored_seq in stored:
        raw = payload(signed_of(device, stored_seq))
        assert ingestor.accept(raw, source="t").status == "accepted"
    for timestamp in timestamps:
        assert_rejected(
            ingestor,
            payload(signed_of(device, seq, timestamp=timestamp)),
            reason=reason,
            code="timestamp_regression",
            device=device.address,
            seq=seq,
        )


def test_unknown_device_is_rejected(ingestor):
    stranger = DeviceKey.generate()
    assert_rejected(
        ingestor,
        payload(signed_of(stranger, 1)),
        reason="unknown device",
        code="unknown_device",
        device=stranger.address,
        seq=1,
    )


def test_inactive_device_is_rejected(ingestor, policy, device):
    policy.register(device.address, batch_id=BATCH, active=False)
    assert_rejected(
        ingestor,
        payload(signed_of(device, 1)),
        reason="inactive device",
        code="inactive_device",
        device=device.address,
        seq=1,
    )


def test_device_assigned_to_another_batch_is_rejected(ingestor, device):
    assert_rejected(
        ingestor,
        payload(signed_of(device, 1, batch_id=OTHER_BATCH)),
        reason="device not assigned to this batch",
        code="unassigned_device",
        device=device.address,
        seq=1,
    )


def test_batch_without_rule_is_rejected(ingestor, policy, rules, device):
    del rules.rules[BATCH]
    assert_rejected(
        ingestor,
        payload(signed_of(device, 1)),
        reason="no cold-chain rule for this batch's product class",
        code="no_rule",
        device=device.address,
        seq=1,
    )


def test_calibration_required_refuses_without_credential(engine, device, clock):
    rules = InMemoryRuleSource({BATCH: replace(RULE, require_calibration=True)})
    calibrated: set[str] = set()
    policy = InMemoryDevicePolicy(rules=rules, calibration=lambda devices: calibrated & {*devices})
    policy.register(device.address, batch_id=BATCH)
    ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock)
    assert_rejected(
        ingestor,
        payload(signed_of(device, 1)),
        reason="no valid calibration credential",
        code="uncalibrated_device",
        device=device.address,
        seq=1,
    )
    calibrated.add(device.address)
    assert ingestor.accept(payload(signed_of(device, 1)), source="t").status == "accepted"


def test_timestamp_in_the_future_is_rejected(ingestor, device, clock):
    raw = payload(signed_of(device, 1, timestamp=int(clock.now) + 301))
    assert_rejected(
        ingestor,
        raw,
        reason="timestamp in the future",
        code="future_timestamp",
        device=device.address,
        seq=1,
    )
    ok = payload(signed_of(device, 1, timestamp=int(clock.now) + 300))
    assert ingestor.accept(ok, source="t").status == "accepted"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            b"{not json",
            "malformed: (reading) is not JSON: Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1)",
        ),
        (b"[1, 2]", "malformed: (reading) must be a JSON object, got list"),
        (b"\xff\xfe", None),
    ],
    ids=["not json", "not an object", "not utf-8"],
)
def test_malformed_json_is_rejected(ingestor, raw, reason):
    result = ingestor.accept(raw, source="http")
    assert result.status == "rejected"
    assert result.reason is not None and result.reason.startswith("malformed: (reading) ")
    if reason is not None:
        assert result.reason == reason
    (letter,) = dead_letters(ingestor.engine)
    assert (letter.reason_code, letter.payload, letter.device, letter.seq) == (
        "malformed",
        raw,
        None,
        None,
    )
    assert snapshot(ingestor.engine) == {name: [] for name in snapshot(ingestor.engine)}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"tempMilliC": ...}, "malformed: tempMilliC is missing"),
        ({"seq": "7"}, "malformed: seq must be an integer, got '7'"),
        ({"extra": 1}, "malformed: extra is not a field of a signed reading"),
        ({"seq": 2**63}, "malformed: seq 9223372036854775808 is above 2^63-1"),
        ({"tempMilliC": 9_000_000}, "malformed: tempMilliC 9000000 is beyond ±8388.607 °C"),
    ],
    ids=["missing field", "string seq", "extra field", "seq beyond int64", "temp beyond int24"],
)
def test_malformed_reading_is_rejected_naming_the_field(ingestor, device, changes, reason):
    raw = with_fields(signed_of(device, 1), **changes)
    result = ingestor.accept(raw, source="http")
    assert (result.status, result.reason) == ("rejected", reason)
    (letter,) = dead_letters(ingestor.engine)
    assert (letter.reason, letter.reason_code, letter.payload) == (reason, "malformed", raw)
    assert all(rows == [] for rows in snapshot(ingestor.engine).values())


def test_oversized_message_is_rejected_before_parsing(ingestor, device):
    raw = with_fields(signed_of(device, 1), padding="x" * 5000)
    result = ingestor.accept(raw, source="http")
    assert (result.status, result.reason, result.device) == ("rejected", "oversized", None)
    (letter,) = dead_letters(ingestor.engine)
    assert letter.reason_code == "oversized"
    assert letter.payload == raw[:4096]  # kept up to the limit only
    assert inbox(ingestor.engine) == []


def test_chain_unavailable_raises_and_stores_nothing(engine, device, clock):
    class DownPolicy:
        def check_many(self, pairs: object) -> dict:
            raise ChainUnavailable("the chain did not answer (ConnectionError)")

    ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=DownPolicy(), clock=clock)
    with pytest.raises(ChainUnavailable):
        ingestor.accept(payload(signed_of(device, 1)), source="t")
    assert dead_letters(engine) == []
    assert inbox(engine) == []


def test_a_refused_policy_read_raises_itself_and_the_chain_refused_condition_until_judged_again(
    engine, policy, device, clock
):
    refused = revert_class("ProvenanceLedgerUnknownBatch")
    health = Conditions()

    class RefusingOnce:
        refusals = 1

        def check_many(self, pairs):
            if self.refusals:
                self.refusals -= 1
                raise refused("ProvenanceLedgerUnknownBatch", {}, "ProvenanceLedger.batch: ...")
            return policy.check_many(pairs)

    ingestor = Ingestor(
        engine=engine, domain=DOMAIN, policy=RefusingOnce(), clock=clock, health=health
    )
    with pytest.raises(refused):
        ingestor.accept(payload(signed_of(device, 1)), source="t")
    assert health.current() == {
        "chain_refused": "the chain refused the device policy's read: ProvenanceLedger.batch: ..."
    }
    assert dead_letters(engine) == []
    assert inbox(engine) == []

    assert ingestor.accept(payload(signed_of(device, 1)), source="t").status == "accepted"
    assert health.current() == {}


def test_concurrent_accepts_store_each_reading_once(ingestor, policy, rules):
    devices = [DeviceKey.generate() for _ in range(4)]
    for d in devices:
        policy.register(d.address, batch_id=BATCH)
    raws = [payload(signed_of(d, seq)) for d in devices for seq in range(1, 26)]
    results: list[str] = []
    lock = threading.Lock()

    def worker(chunk: list[bytes]) -> None:
        for raw in chunk:
            # every message twice: at-least-once delivery
            for _ in range(2):
                status = ingestor.accept(raw, source="t").status
                with lock:
                    results.append(status)

    per_device = [raws[i * 25 : (i + 1) * 25] for i in range(4)]
    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in per_device * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("accepted") == 100
    assert results.count("duplicate") == 300
    with reading_session(ingestor.engine) as session:
        assert session.scalar(select(func.count()).select_from(InboxReading)) == 100
    assert dead_letters(ingestor.engine) == []


def mixed_batch(device: DeviceKey, other: DeviceKey, stranger: DeviceKey) -> list[bytes]:
    """A batch with every outcome, several of them depending on items earlier in the batch."""
    forger = DeviceKey.generate()
    forged = forger.sign(signed_of(forger, 9).reading, domain=DOMAIN)
    return [
        payload(signed_of(device, 3)),
        payload(signed_of(device, 3)),  # the same again: duplicate
        payload(signed_of(device, 5)),
        payload(signed_of(device, 4)),  # below 5, never stored: lower seq
        payload(signed_of(device, 3, temp_milli_c=5100)),  # replayed seq
        payload(signed_of(device, 6, timestamp=T0)),  # timestamp regression
        payload(signed_of(other, 1)),
        payload(signed_of(other, 2)),
        with_fields(forged, device=other.address),  # signature mismatch
        payload(signed_of(stranger, 1)),  # unknown device
        b"{not json",
        with_fields(signed_of(device, 8), padding="x" * 5000),  # oversized
        payload(signed_of(device, 7)),
        payload(signed_of(other, 2)),  # duplicate of an item of this batch
        payload(signed_of(device, 1)),  # below what the inbox held before: lower seq
        payload(signed_of(device, 2)),  # stored before the batch: duplicate
    ]


def outcomes(results) -> list[tuple]:
    return [(r.status, r.reason, r.device, r.seq) for r in results]


def letters_of(engine) -> list[tuple]:
    return [
        (
            letter.source,
            letter.payload,
            letter.reason_code,
            letter.reason,
            letter.device,
            letter.seq,
        )
        for letter in dead_letters(engine)
    ]


def inbox_of(engine) -> list[tuple]:
    return [(row.device, row.seq, row.digest, row.source, row.window_id) for row in inbox(engine)]


@pytest.mark.parametrize("workers", [0, 2], ids=["in process", "worker processes"])
def test_accept_many_decides_each_item_as_accept_would_in_turn(
    databases, policy, device, clock, workers
):
    """With worker processes, as where screening runs in Python (the reference)."""
    other, stranger = DeviceKey.generate(), DeviceKey.generate()
    policy.register(other.address, batch_id=BATCH)
    one_by_one = Ingestor(engine=databases.engine(), domain=DOMAIN, policy=policy, clock=clock)
    pool = CountingPool(workers, mp_context=get_context("spawn")) if workers else None
    # The reference screens in Python, so its large batches go to the workers.
    batched = Ingestor(
        engine=databases.engine(),
        domain=DOMAIN,
        policy=policy,
        clock=clock,
        pool=pool,
        hot_path=PythonHotPath(),
    )
    try:
        for ingestor in (one_by_one, batched):
            assert ingestor.accept(payload(signed_of(device, 2)), source="before").status == (
                "accepted"
            )
        raws = mixed_batch(device, other, stranger) * (5 if workers else 1)

        expected = [one_by_one.accept(raw, source="t") for raw in raws]
        results = batched.accept_many(raws, source="t")
    finally:
        if pool is not None:
            pool.shutdown()

    assert pool is None or pool.submitted >= 1

    assert outcomes(results) == outcomes(expected)
    assert {r.status for r in results} == {"accepted", "duplicate", "rejected"}
    assert letters_of(batched.engine) == letters_of(one_by_one.engine)
    assert inbox_of(batched.engine) == inbox_of(one_by_one.engine)


def test_readings_screened_in_c_stay_in_the_ingesting_thread(
    engine, policy, device, clock, native_hot_path
):
    """The C screen releases the GIL, so ingress threads screen in parallel without a worker
    round trip (which cost more than it spared): the pool is left to window drafting."""
    pool = CountingPool(1, mp_context=get_context("spawn"))
    try:
        ingestor = Ingestor(
            engine=engine,
            domain=DOMAIN,
            policy=policy,
            clock=clock,
            pool=pool,
            hot_path=native_hot_path,
        )
        raws = [payload(signed_of(device, seq)) for seq in range(1, 201)]
        results = ingestor.accept_many(raws, source="t")
    finally:
        pool.shutdown()
    assert [r.status for r in results] == ["accepted"] * 200
    assert pool.submitted == 0


def test_accept_many_takes_a_source_per_item(ingestor, device):
    raws = [payload(signed_of(device, seq)) for seq in (1, 2)] + [b"[]"]
    results = ingestor.accept_many(raws, source=["mqtt:a", "mqtt:b", "mqtt:c"])
    assert [r.status for r in results] == ["accepted", "accepted", "rejected"]
    assert [row.source for row in inbox(ingestor.engine)] == ["mqtt:a", "mqtt:b"]
    assert [letter.source for letter in dead_letters(ingestor.engine)] == ["mqtt:c"]
    with pytest.raises(ValueError, match="2 sources for 3 readings"):
        ingestor.accept_many(raws, source=["x", "y"])
    assert ingestor.accept_many([], source="t") == []


def test_accept_many_stores_nothing_when_the_chain_cannot_judge_one_device(engine, device, clock):
    class HalfDownPolicy:
        def check_many(self, pairs: set[tuple[str, bytes]]) -> dict:
            if {d for d, _ in pairs} != {device.address}:
                raise ChainUnavailable("the chain did not answer (ConnectionError)")
            return dict.fromkeys(pairs)

    ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=HalfDownPolicy(), clock=clock)
    raws = [
        b"{not json",
        payload(signed_of(device, 1)),
        payload(signed_of(DeviceKey.generate(), 1)),
    ]
    with pytest.raises(ChainUnavailable):
        ingestor.accept_many(raws, source="t")
    assert dead_letters(engine) == []
    assert inbox(engine) == []


def test_accept_many_reports_what_it_stored(engine, policy, device, clock):
    stored: list[list[tuple[str, int]]] = []
    ingestor = Ingestor(
        engine=engine,
        domain=DOMAIN,
        policy=policy,
        clock=clock,
        on_stored=lambda items: stored.append([(i.device, i.seq) for i in items]),
    )
    raws = [payload(signed_of(device, seq)) for seq in (1, 2, 2)] + [b"[]"]
    ingestor.accept_many(raws, source="t")
    ingestor.accept_many(raws[:1], source="t")  # a duplicate only: nothing new to report
    assert stored == [[(device.address, 1), (device.address, 2)]]


def test_calibration_is_asked_once_for_all_the_devices_of_a_batch(engine, clock):
    devices = [DeviceKey.generate() for _ in range(3)]
    asked: list[set[str]] = []

    def calibration(candidates: Collection[str]) -> set[str]:
        asked.append({*candidates})
        return {devices[0].address, devices[2].address}

    rules = InMemoryRuleSource({BATCH: replace(RULE, require_calibration=True)})
    policy = InMemoryDevicePolicy(rules=rules, calibration=calibration)
    for device in devices:
        policy.register(device.address, batch_id=BATCH)
    ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock)

    results = ingestor.accept_many(
        [payload(signed_of(device, seq)) for seq in (1, 2) for device in devices], source="t"
    )

    assert asked == [{device.address for device in devices}]
    assert [r.status for r in results] == ["accepted", "rejected", "accepted"] * 2
    assert {r.reason for r in results if r.status == "rejected"} == {UNCALIBRATED_DEVICE}


# Refused for a repeated key that no database stores as text: SQLite's UTF-8 has no lone
# surrogate, PostgreSQL's text no NUL. The refusal quotes the key.
UNSTORABLE_KEYS = {
    "lone surrogate": (b'{"\\ud800":1,"\\ud800":2}', "\\ud800"),
    "NUL": (b'{"\\u0000":1,"\\u0000":2}', "\\u0000"),
}


@pytest.mark.parametrize("case", UNSTORABLE_KEYS)
def test_a_refusal_quoting_what_no_database_stores_is_stored_escaped(
    databases, policy, device, clock, case
):
    raw, escaped = UNSTORABLE_KEYS[case]
    engine = databases.engine()
    ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock)
    good = [payload(signed_of(device, seq)) for seq in (1, 2)]

    results = ingestor.accept_many([good[0], raw, good[1]], source="mqtt:topic\x00\ud800")

    assert [r.status for r in results] == ["accepted", "rejected", "accepted"]
    reason = results[1].reason
    assert reason is not None and reason.startswith("malformed: ") and escaped in reason
    (letter,) = dead_letters(engine)
    assert (letter.reason_code, letter.reason, letter.payload) == ("malformed", reason, raw)
    assert letter.source == "mqtt:topic\\u0000\\ud800"
    assert [row.seq for row in inbox(engine)] == [1, 2]


def test_an_ingestor_dead_letters_a_message_it_was_given_up_on(databases, policy, clock):
    engine = databases.engine()
    ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock)

    ingestor.dead_letter(b'{"\\u0000":1}', source="mqtt:t", reason="failed 5 times: \x00\ud800")

    (letter,) = dead_letters(engine)
    assert (letter.reason_code, letter.reason, letter.payload, letter.source) == (
        "ingest_failed",
        "failed 5 times: \\u0000\\ud800",
        b'{"\\u0000":1}',
        "mqtt:t",
    )


def test_a_full_disk_is_store_unavailable_and_the_store_condition_until_a_write_succeeds(
    engine, policy, device, clock
):
    health = Conditions()
    ingestor = Ingestor(engine=engine, domain=DOMAIN, policy=policy, clock=clock, health=health)
    assert ingestor.accept(payload(signed_of(device, 1)), source="t").status == "accepted"
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    limit = {"pages": pages}

    @event.listens_for(engine, "connect")
    def _disk_of(dbapi_connection, _record) -> None:
        # SQLite's own limit on the database's size: the next page it needs is refused
        # (SQLITE_FULL, "database or disk is full"), as on a full disk.
        dbapi_connection.execute(f"PRAGMA max_page_count = {limit['pages']}")

    engine.dispose()
    batch = [payload(signed_of(device, seq)) for seq in range(2, 300)]
    with pytest.raises(StoreUnavailable, match="database or disk is full"):
        ingestor.accept_many(batch, source="t")
    assert health.current() == {"store": "ingest could not write: database or disk is full"}
    assert [row.seq for row in inbox(engine)] == [1]

    limit["pages"] = 1 << 30
    engine.dispose()
    assert {r.status for r in ingestor.accept_many(batch, source="t")} == {"accepted"}
    assert health.current() == {}
