"""The bridge end to end on a real anvil: readings in, windows anchored, lots quarantined."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from web3 import HTTPProvider, Web3

from api.app import create_app
from ledger_client.chain import connect, rpc
from ledger_client.deployment import Deployment
from ledger_client.errors import ChainRejected, ChainUnavailable
from ledger_client.lifecycle import BatchStatus
from ledger_client.local_chain import free_port
from oracle_bridge.anchors import READINGS_ANCHORED_TOPIC, AnchoredWindow, decode_readings_anchored
from oracle_bridge.bridge import Bridge
from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import DeviceRefused, ProofInvalid
from oracle_bridge.merkle import MerkleTree, leaf
from oracle_bridge.policy.chain import ChainDevicePolicy, ChainRuleSource
from oracle_bridge.proofs import reading_proof, verify_against_chain
from oracle_bridge.readings import SignedReading
from oracle_bridge.store import (
    ComplianceSubmission,
    InboxReading,
    ReadingWindow,
    SubmissionStatus,
    WindowStatus,
    reading_session,
    writing,
)
from tests.factories import make_consortium
from tests.node_proxy import refusing_node
from tests.oracle_bridge.runtime.bridge_runtime_factories import (
    ORACLE,
    RULE,
    T0,
    ColdChain,
    bridge_settings,
    dead_letters,
    payload,
    signed_of,
)

pytestmark = pytest.mark.integration

EXCURSION_C = 9000  # above the rule's 8 °C, below its 25 °C hard limit


@pytest.fixture(scope="module")
def cold_chain(w3) -> ColdChain:
    """One consortium for the module: every test makes lots and devices of its own."""
    return ColdChain(make_consortium(w3), ORACLE)


@pytest.fixture
def engine(databases):
    return databases.engine()


def make_bridge(
    cold_chain: ColdChain,
    engine,
    *,
    w3: Web3 | None = None,
    deployment: Deployment | None = None,
    cache_s: float = 60,
    clock: Callable[[], float] = lambda: T0 + 100_000,
    **settings,
) -> Bridge:
    return cold_chain.bridge(
        engine,
        settings=bridge_settings(**settings),
        w3=w3,
        deployment=deployment,
        cache_s=cache_s,
        clock=clock,
    )


def feed(bridge: Bridge, device: DeviceKey, batch_id: bytes, temps: dict[int, int], **fields):
    """Readings seq -> temperature, 60 s apart unless `timestamp` says otherwise."""
    signed = []
    for seq, temp in temps.items():
        reading = signed_of(
            device, seq, domain=bridge.domain, batch_id=batch_id, temp_milli_c=temp, **fields
        )
        result = bridge.ingestor.accept(payload(reading), source="test")
        assert result.status == "accepted", result
        signed.append(reading)
    return signed


def anchorings(cold_chain: ColdChain, batch_id: bytes) -> list[AnchoredWindow]:
    c = cold_chain.consortium
    logs = rpc(
        c.w3,
        "eth_getLogs",
        [
            {
                "address": c.deployment.address("ColdChainCompliance"),
                "topics": [READINGS_ANCHORED_TOPIC, "0x" + batch_id.hex()],
                "fromBlock": hex(c.deployment.deploy_block),
                "toBlock": "latest",
            }
        ],
    )
    return [decode_readings_anchored(raw) for raw in logs]  # type: ignore[union-attr,misc]


def anchorings_once_mined(cold_chain: ColdChain, batch_id: bytes, count: int) -> list:
    """`anchorings`, after waiting (at most 10 s) for `count` of them to be mined."""
    deadline = time.monotonic() + 10
    found = anchorings(cold_chain, batch_id)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        found = anchorings(cold_chain, batch_id)
    return found


def status_of(cold_chain: ColdChain, batch_id: bytes) -> BatchStatus:
    return cold_chain.consortium.writer().batch(batch_id).status


def chain_state(cold_chain: ColdChain, batch_id: bytes, device: DeviceKey) -> tuple:
    return tuple(cold_chain.compliance.functions.complianceState(batch_id, device.address).call())


def last_seq_once_mined(cold_chain: ColdChain, batch_id: bytes, device: DeviceKey, seq: int) -> int:
    """The contract's lastSeq for the pair, after waiting (at most 10 s) for it to reach `seq`:
    anvil mines just after answering the send."""
    deadline = time.monotonic() + 10
    last_seq = chain_state(cold_chain, batch_id, device)[0]
    while last_seq < seq and time.monotonic() < deadline:
        time.sleep(0.05)
        last_seq = chain_state(cold_chain, batch_id, device)[0]
    return last_seq


def rows(engine, model):
    with reading_session(engine) as session:
        return list(session.scalars(select(model).order_by(model.id)))


def test_readings_are_anchored_in_windows_with_their_roots(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine, window_max_readings=10)
    signed = feed(bridge, device, lot, dict.fromkeys(range(1, 26), 5000))

    report = bridge.run_once()

    assert [(w.first_seq, w.last_seq) for w in report.windows_closed] == [
        (1, 10),
        (11, 20),
        (21, 25),
    ]
    assert report.submitted.windows_anchored == 3
    assert [w.status for w in rows(engine, ReadingWindow)] == [WindowStatus.ANCHORED] * 3
    expected = [
        MerkleTree([leaf(s.reading) for s in signed[start:stop]]).root
        for start, stop in ((0, 10), (10, 20), (20, 25))
    ]
    logs = anchorings(cold_chain, lot)
    assert [(a.batch_id, a.device, a.first_seq, a.last_seq) for a in logs] == [
        (lot, device.address, 1, 10),
        (lot, device.address, 11, 20),
        (lot, device.address, 21, 25),
    ]
    assert [a.merkle_root for a in logs] == expected
    assert rows(engine, ComplianceSubmission) == []
    assert status_of(cold_chain, lot) is BatchStatus.ACTIVE
    assert not bridge.run_once().submitted.progressed
    assert bridge.inbox_backlog() == 0
    assert bridge.database_reachable() and bridge.chain_reachable()


def test_an_excursion_longer_than_the_rule_quarantines_the_lot(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine, window_max_readings=8)
    # 60 s apart: seq 2..13 out of range span 660 s > 600 s allowed
    temps = {1: 5000} | dict.fromkeys(range(2, 14), EXCURSION_C) | {14: 5000, 15: 5000}
    feed(bridge, device, lot, temps)

    bridge.run_once()

    assert status_of(cold_chain, lot) is BatchStatus.QUARANTINED
    submissions = rows(engine, ComplianceSubmission)
    assert submissions and {s.status for s in submissions} == {SubmissionStatus.CONFIRMED}
    # seq 13 quarantined (and reset the excursion): the in-range 14 changes nothing on chain
    assert chain_state(cold_chain, lot, device)[0] == 13


def test_a_shorter_excursion_does_not_quarantine(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine)
    temps = {1: 5000} | dict.fromkeys(range(2, 12), EXCURSION_C) | {12: 5000, 13: 5000}
    feed(bridge, device, lot, temps)  # seq 2..11 span 540 s

    bridge.run_once()

    assert status_of(cold_chain, lot) is BatchStatus.ACTIVE
    last_seq, last_timestamp, in_excursion, _ = chain_state(cold_chain, lot, device)
    assert (last_seq, last_timestamp, in_excursion) == (12, T0 + 720, False)


def test_a_hard_limit_reading_quarantines_the_lot(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine)
    feed(bridge, device, lot, {1: 5000, 2: 5000, 3: 26_000, 4: 5000})

    bridge.run_once()

    assert status_of(cold_chain, lot) is BatchStatus.QUARANTINED
    assert chain_state(cold_chain, lot, device)[0] == 3


def test_a_window_and_its_submission_go_out_in_one_pass(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine)
    feed(bridge, device, lot, {1: 5000, 2: 26_000})
    bridge.windows.close_due()

    report = bridge.submitter.run_once()

    assert (report.windows_sent, report.submissions_sent) == (1, 1)
    assert (report.windows_anchored, report.submissions_confirmed) == (1, 1)
    assert status_of(cold_chain, lot) is BatchStatus.QUARANTINED


def test_a_running_bridge_quarantines_at_once_whatever_the_window_age(cold_chain, engine):
    """The ingestor tells the window closer of a reading that may decide a quarantine; the
    closer closes that window at once and wakes the submitter, long before the window's
    age or the next poll."""
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine, window_max_age_s=3600, poll_interval_s=30)
    with bridge:
        feed(bridge, device, lot, {1: 5000, 2: 5000})
        handed = time.monotonic()
        feed(bridge, device, lot, {3: 26_000})
        while status_of(cold_chain, lot) is not BatchStatus.QUARANTINED:
            assert time.monotonic() - handed < 5, "not quarantined within 5 s"
            time.sleep(0.02)
    assert chain_state(cold_chain, lot, device)[0] == 3


def test_a_running_bridge_anchors_a_window_as_it_comes_of_age_not_a_poll_later(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(
        cold_chain, engine, clock=time.time, window_max_age_s=1.0, poll_interval_s=30
    )
    feed(bridge, device, lot, {1: 5000, 2: 5000})
    handed = time.monotonic()
    with bridge:  # its first pass finds the window not due yet, and when it will be
        while {w.status for w in rows(engine, ReadingWindow)} != {WindowStatus.ANCHORED}:
            assert time.monotonic() - handed < 5, "not anchored within 5 s of its 1 s age"
            time.sleep(0.02)


def test_a_running_bridge_leaves_the_process_collector_alone(cold_chain, engine):
    """The collector's tuning belongs to the process's owner (`provenance.process`)."""
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with make_bridge(cold_chain, engine):
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == frozen


def test_a_data_gap_quarantines_the_lot(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine)
    feed(bridge, device, lot, {1: 5000, 2: 5000})
    bridge.run_once()
    assert status_of(cold_chain, lot) is BatchStatus.ACTIVE
    feed(bridge, device, lot, {3: 5000}, timestamp=T0 + 120 + RULE.max_data_gap_seconds + 1)

    bridge.run_once()

    assert status_of(cold_chain, lot) is BatchStatus.QUARANTINED
    assert chain_state(cold_chain, lot, device)[0] == 3


def test_a_stored_reading_proves_itself_against_the_chain(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine, window_max_readings=7)
    signed = feed(bridge, device, lot, dict.fromkeys(range(1, 11), 5000))
    bridge.run_once()
    c = cold_chain.consortium

    proof = reading_proof(engine, device=device.address, seq=9)
    verified = verify_against_chain(c.w3, c.deployment, proof)

    assert proof.signed == signed[8]
    assert (proof.first_seq, proof.last_seq, proof.leaf_index) == (8, 10, 1)
    (window,) = [w for w in anchorings(cold_chain, lot) if w.first_seq == 8]
    assert (verified.merkle_root, verified.anchor_tx_hash) == (window.merkle_root, window.tx_hash)

    # A doctored reading, a foreign signature, a wrong transaction: none holds.
    doctored = SignedReading(
        reading=signed_of(device, 9, domain=bridge.domain, batch_id=lot, temp_milli_c=5001).reading,
        signature=signed[8].signature,
    )
    stranger = DeviceKey.generate()
    bad_signature = SignedReading(
        reading=signed[8].reading,
        signature=stranger.sign(
            signed_of(stranger, 9, domain=bridge.domain).reading, domain=bridge.domain
        ).signature,
    )
    other_tx = next(w.tx_hash for w in anchorings(cold_chain, lot) if w.first_seq == 1)
    for tampered, message in (
        (proof.__class__(**{**proof.__dict__, "signed": doctored}), "different values"),
        (proof.__class__(**{**proof.__dict__, "signed": bad_signature}), "signature"),
        (proof.__class__(**{**proof.__dict__, "anchor_tx_hash": other_tx}), "anchors no window"),
        (proof.__class__(**{**proof.__dict__, "proof": proof.proof[::-1]}), "Merkle proof"),
    ):
        with pytest.raises(ProofInvalid, match=message):
            verify_against_chain(c.w3, c.deployment, tampered)


class Crash(Exception):
    """Stands for the process dying at a chosen instant."""


def test_restart_mid_stream_never_anchors_a_window_twice(cold_chain, engine, monkeypatch):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    first = make_bridge(cold_chain, engine, window_max_readings=5)
    temps = {seq: EXCURSION_C if 8 <= seq <= 9 else 5000 for seq in range(1, 13)}
    feed(first, device, lot, {s: t for s, t in temps.items() if s <= 12})

    # Crash 1: the node took the anchoring transactions, the bridge died before recording them.
    real_send_many = first.submitter.sender.send_many

    def send_then_die(*args, **kwargs):
        real_send_many(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(first.submitter.sender, "send_many", send_then_die)
    with pytest.raises(Crash):
        first.run_once()
    assert {w.status for w in rows(engine, ReadingWindow)} == {WindowStatus.PENDING}
    # (1-5, 6-10, 11-12) are on chain, unrecorded; anvil mines just after answering the send.
    assert len(anchorings_once_mined(cold_chain, lot, 3)) == 3

    # Crash 2: a new bridge finds them by their logs; then it sends the submission and dies.
    second = make_bridge(cold_chain, engine, window_max_readings=5)
    real_send = second.submitter.sender.send

    def submit_then_die(*args, **kwargs):
        real_send(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(second.submitter.sender, "send", submit_then_die)
    with pytest.raises(Crash):
        second.run_once()
    assert {w.status for w in rows(engine, ReadingWindow)} == {WindowStatus.ANCHORED}
    # The excursion 8-9 ended at 10; the submission was sent just before the crash.
    assert last_seq_once_mined(cold_chain, lot, device, 10) == 10
    (submission,) = rows(engine, ComplianceSubmission)
    assert submission.status == SubmissionStatus.PENDING

    # A third bridge resolves the submission from the chain's state and carries on.
    third = make_bridge(cold_chain, engine, window_max_readings=5)
    nonce_before = cold_chain.consortium.w3.eth.get_transaction_count(ORACLE.address)
    third.run_once()
    assert cold_chain.consortium.w3.eth.get_transaction_count(ORACLE.address) == nonce_before
    (submission,) = rows(engine, ComplianceSubmission)
    assert (submission.status, submission.resolved_from_chain) == (SubmissionStatus.CONFIRMED, True)

    feed(third, device, lot, dict.fromkeys(range(13, 18), 5000))
    third.run_once()
    starts = [(a.first_seq, a.last_seq) for a in anchorings(cold_chain, lot)]
    assert starts == [(1, 5), (6, 10), (11, 12), (13, 17)]
    assert status_of(cold_chain, lot) is BatchStatus.ACTIVE


def test_sent_windows_are_resolved_by_receipt_after_a_restart(cold_chain, engine, monkeypatch):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    first = make_bridge(cold_chain, engine, window_max_readings=4)
    feed(first, device, lot, dict.fromkeys(range(1, 9), 5000))

    def die_while_waiting(hashes, *, wait):
        if wait:
            raise Crash
        return real_receipts(hashes, wait=wait)

    real_receipts = first.submitter._receipts
    monkeypatch.setattr(first.submitter, "_receipts", die_while_waiting)
    with pytest.raises(Crash):
        first.run_once()
    windows = rows(engine, ReadingWindow)
    assert {w.status for w in windows} == {WindowStatus.SENT}
    # Mined while the bridge is down. Anvil mines a block just after it answers a send, so
    # a restart at once could find no receipt yet (a later pass would settle it).
    for window in windows:
        cold_chain.consortium.w3.eth.wait_for_transaction_receipt(window.tx_hash, timeout=30)

    make_bridge(cold_chain, engine).run_once()

    windows = rows(engine, ReadingWindow)
    assert {w.status for w in windows} == {WindowStatus.ANCHORED}
    assert [(a.first_seq, a.tx_hash) for a in anchorings(cold_chain, lot)] == [
        (w.first_seq, w.tx_hash) for w in windows
    ]


def test_a_stale_sequence_revert_is_resolved_from_chain_state(cold_chain, engine, monkeypatch):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine)
    feed(bridge, device, lot, {1: 5000, 2: EXCURSION_C, 3: 5000})
    bridge.run_once()
    (submission,) = rows(engine, ComplianceSubmission)
    assert submission.status == SubmissionStatus.CONFIRMED
    # As if the confirmation was never recorded and the chain's state read raced it.
    with writing(engine) as session:
        session.execute(
            update(ComplianceSubmission).values(status=SubmissionStatus.PENDING, tx_hash=None)
        )
    stale_reads = [0]  # one read that misses the landed readings
    real = bridge.submitter._chain_last_seq
    monkeypatch.setattr(
        bridge.submitter,
        "_chain_last_seq",
        lambda b, d: stale_reads.pop() if stale_reads else real(b, d),
    )

    first_pass = bridge.submitter.run_once()  # estimate reverts StaleSequence: pending again
    assert rows(engine, ComplianceSubmission)[0].status == SubmissionStatus.PENDING
    assert first_pass.submissions_sent == 0
    bridge.submitter.run_once()

    (submission,) = rows(engine, ComplianceSubmission)
    assert (submission.status, submission.resolved_from_chain) == (SubmissionStatus.CONFIRMED, True)


def test_a_submission_the_chain_refuses_for_good_is_failed(cold_chain, engine):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    bridge = make_bridge(cold_chain, engine)
    feed(bridge, device, lot, {1: 5000, 2: EXCURSION_C, 3: 5000})
    cold_chain.set_active(device, False)  # after the bridge accepted the readings

    report = bridge.run_once()

    assert report.submitted.windows_anchored == 1
    assert report.submitted.submissions_failed == 1
    (submission,) = rows(engine, ComplianceSubmission)
    assert submission.status == SubmissionStatus.FAILED
    assert "DeviceRegistryInactiveDevice" in (submission.error or "")


def test_the_chain_policy_judges_a_batch_of_devices_in_one_request(cold_chain, monkeypatch):
    c = cold_chain.consortium
    lot, other_lot = cold_chain.lot(), cold_chain.lot()
    fine, inactive, elsewhere = (cold_chain.device(lot) for _ in range(3))
    cold_chain.set_active(inactive, False)
    cold_chain.assign(elsewhere, other_lot)
    stranger = DeviceKey.generate()
    pairs = {(d.address, lot) for d in (fine, inactive, elsewhere, stranger)}
    rules = ChainRuleSource(c.w3, c.deployment, cache_s=60)
    expected = {}
    for device, batch_id in pairs:
        try:
            ChainDevicePolicy(c.w3, c.deployment, rules=rules).check(device, batch_id)
            expected[(device, batch_id)] = None
        except DeviceRefused as exc:
            expected[(device, batch_id)] = exc.code
    policy = ChainDevicePolicy(c.w3, c.deployment, rules=rules, cache_s=60)
    requests = []
    provider = c.w3.provider
    real_request = provider.make_batch_request  # type: ignore[attr-defined]
    monkeypatch.setattr(
        provider,
        "make_batch_request",
        lambda calls: requests.append(len(calls)) or real_request(calls),
    )

    verdicts = policy.check_many(pairs)

    assert {pair: v.code if v else None for pair, v in verdicts.items()} == expected
    assert set(expected.values()) == {
        None,
        "inactive_device",
        "unassigned_device",
        "unknown_device",
    }
    assert requests == [4]
    policy.check_many(pairs)  # all cached now
    assert requests == [4]


def test_ingest_keeps_working_while_the_chain_is_down(cold_chain, engine, anvil):
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    w3 = connect(anvil.rpc_url)
    # No cache freshness: while the chain is down every answer comes from the last one seen.
    bridge = make_bridge(cold_chain, engine, w3=w3, cache_s=0)
    feed(bridge, device, lot, {1: 5000})
    w3.provider = HTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 1})
    with bridge:
        feed(bridge, device, lot, dict.fromkeys(range(2, 6), 5000))
        # A device never seen cannot be judged: nothing is stored, the sender must retry.
        stranger = DeviceKey.generate()
        with pytest.raises(ChainUnavailable):
            bridge.ingestor.accept(
                payload(signed_of(stranger, 1, domain=bridge.domain, batch_id=lot)), source="t"
            )
        time.sleep(0.3)
        assert not bridge.chain_reachable()
        assert rows(engine, ReadingWindow)  # closed, waiting to be anchored
        assert anchorings(cold_chain, lot) == []
        w3.provider = HTTPProvider(anvil.rpc_url)

        def all_anchored() -> bool:
            # Every window anchored is not enough: the last reading may not be windowed yet.
            anchored = anchorings(cold_chain, lot)
            statuses = {w.status for w in rows(engine, ReadingWindow)}
            return (
                statuses == {WindowStatus.ANCHORED}
                and bool(anchored)
                and anchored[-1].last_seq == 5
            )

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all_anchored():
            time.sleep(0.05)
    assert {w.status for w in rows(engine, ReadingWindow)} == {WindowStatus.ANCHORED}
    assert [(a.first_seq, a.last_seq) for a in anchorings(cold_chain, lot)][-1][1] == 5
    assert dead_letters(engine) == []


def misplaced(deployment: Deployment, *contracts: str) -> Deployment:
    """The record with `contracts` pointing at the Membership contract: the chain reverts
    their reads (a record that is not this chain's, not a chain that is down)."""
    wrong = dict.fromkeys(contracts, deployment.address("Membership"))
    return replace(deployment, addresses={**deployment.addresses, **wrong})


def test_a_policy_read_the_chain_refuses_is_a_rejection_not_an_outage(cold_chain, engine):
    c = cold_chain.consortium
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    wrong = misplaced(c.deployment, "ProvenanceLedger", "DeviceRegistry")
    rules = ChainRuleSource(c.w3, wrong, cache_s=0)
    policy = ChainDevicePolicy(c.w3, wrong, rules=rules, cache_s=0)
    for read in (
        lambda: rules.rule(lot),
        lambda: policy.check(device.address, lot),
        lambda: policy.check_many({(device.address, lot), (DeviceKey.generate().address, lot)}),
    ):
        with pytest.raises(ChainRejected) as refused:
            read()
        assert not isinstance(refused.value, ChainUnavailable)

    bridge = make_bridge(cold_chain, engine, deployment=wrong, cache_s=0)
    reading = signed_of(device, 1, domain=bridge.domain, batch_id=lot)
    with pytest.raises(ChainRejected, match="reverted"):
        bridge.ingestor.accept(payload(reading), source="t")
    assert bridge.chain_reachable()
    assert rows(engine, InboxReading) == []
    assert dead_letters(engine) == []

    client = TestClient(create_app(bridge))
    posted = client.post("/api/v1/readings", content=b"[" + payload(reading) + b"]")
    assert posted.status_code == 502, posted.text
    assert "reverted" in posted.json()["detail"]
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["chain"] is True
    assert set(health.json()["conditions"]) == {"chain_refused"}
    assert "reverted" in health.json()["conditions"]["chain_refused"]


def test_a_refused_policy_read_is_not_served_from_the_cache(cold_chain, engine):
    """A stale answer stands in while the chain is down, not while it refuses (here: a node
    behind a proxy that refuses the bridge's credentials): serving it would hide the fault."""
    c = cold_chain.consortium
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    w3 = connect(c.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    bridge = make_bridge(cold_chain, engine, w3=w3, cache_s=0)
    feed(bridge, device, lot, {1: 5000})
    with refusing_node(message="unauthorized") as url:
        w3.provider = HTTPProvider(url, request_kwargs={"timeout": 2})
        reading = signed_of(device, 2, domain=bridge.domain, batch_id=lot)
        with pytest.raises(ChainRejected, match="unauthorized"):
            bridge.ingestor.accept(payload(reading), source="t")
        with pytest.raises(ChainRejected, match="unauthorized"):
            bridge.chain_reachable()
    assert [r.seq for r in rows(engine, InboxReading)] == [1]


def test_concurrent_ingest_serializes_per_device(cold_chain, engine):
    """Several threads deliver the same readings at once (QoS 1 redeliveries, several
    bridge threads): each reading is stored once, the others are duplicates."""
    lot = cold_chain.lot()
    devices = [cold_chain.device(lot) for _ in range(3)]
    bridge = make_bridge(cold_chain, engine)
    raws = {
        d.address: [
            payload(signed_of(d, seq, domain=bridge.domain, batch_id=lot)) for seq in range(1, 21)
        ]
        for d in devices
    }
    statuses: list[str] = []

    def deliver(messages: list[bytes]) -> None:
        for raw in messages:
            statuses.append(bridge.ingestor.accept(raw, source="t").status)

    threads = [threading.Thread(target=deliver, args=(m,)) for m in list(raws.values()) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (statuses.count("accepted"), statuses.count("duplicate")) == (60, 120)
    bridge.run_once()
    assert {(w.first_seq, w.last_seq) for w in rows(engine, ReadingWindow)} == {(1, 20)}
    assert len(anchorings(cold_chain, lot)) == 3


def test_bridges_sharing_a_database_take_turns_at_sending(cold_chain, engine):
    """Both ingest and close windows; only the lease holder anchors. Once it stops (giving
    the lease up), the other takes over, and no window goes out twice."""
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    first = make_bridge(cold_chain, engine, instance_name="first")
    second = make_bridge(cold_chain, engine, instance_name="second")
    feed(first, device, lot, dict.fromkeys((1, 2, 3), 5000))
    first.windows.close_due()

    assert first.submitter.drain().windows_anchored == 1
    feed(second, device, lot, dict.fromkeys((4, 5), 5000))
    second.windows.close_due()
    assert not second.submitter.run_once().progressed, "the lease is the first bridge's"
    assert [w.status for w in rows(engine, ReadingWindow)][-1] is WindowStatus.PENDING

    with first:  # runs (its thread may anchor the window meanwhile), stops, gives the lease up
        pass
    assert second.lease.hold(), "a clean stop hands the lease over at once"
    deadline = time.monotonic() + 10
    # What the first sent before stopping is resolved by receipt once anvil has mined it.
    while {w.status for w in rows(engine, ReadingWindow)} != {WindowStatus.ANCHORED}:
        assert time.monotonic() < deadline, "the second bridge did not finish the anchoring"
        second.submitter.run_once()
        time.sleep(0.05)
    found = anchorings_once_mined(cold_chain, lot, 2)
    assert sorted((a.first_seq, a.last_seq) for a in found) == [(1, 3), (4, 5)]
