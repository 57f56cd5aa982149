"""The submitter follows the chain back: a revert to an earlier state, a reorg that drops its
anchorings, two senders racing with one window. Each test runs on an anvil of its own, since
reverting the chain would take other tests' contracts with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from ledger_client.chain import connect, rpc
from ledger_client.local_chain import LocalChain, start_anvil
from oracle_bridge.anchors import READINGS_ANCHORED_TOPIC, AnchoredWindow, decode_readings_anchored
from oracle_bridge.bridge import Bridge
from oracle_bridge.device import DeviceKey
from oracle_bridge.store import (
    ComplianceSubmission,
    ReadingWindow,
    SubmissionStatus,
    WindowStatus,
    reading_session,
    writing,
)
from oracle_bridge.submitter import CHAIN_ROLLBACK
from tests.factories import make_consortium
from tests.oracle_bridge.runtime.bridge_runtime_factories import (
    ORACLE,
    ColdChain,
    bridge_settings,
    payload,
    signed_of,
)

pytestmark = pytest.mark.integration

EXCURSION_C = 9000


@pytest.fixture
def chain(compiled: None) -> Iterator[LocalChain]:
    chain = start_anvil()
    try:
        yield chain
    finally:
        chain.stop()


@pytest.fixture
def cold_chain(chain: LocalChain) -> ColdChain:
    return ColdChain(make_consortium(connect(chain.rpc_url)), ORACLE)


def make_bridge(cold_chain: ColdChain, engine, **settings) -> Bridge:
    bridge = cold_chain.bridge(engine, settings=bridge_settings(**settings))
    # Every pass checks the recorded blocks (the bridge does so every second).
    bridge.submitter.audit_interval_s = 0
    return bridge


def feed(bridge: Bridge, device: DeviceKey, lot: bytes, temps: dict[int, int]) -> None:
    for seq, temp in temps.items():
        reading = signed_of(device, seq, domain=bridge.domain, batch_id=lot, temp_milli_c=temp)
        assert bridge.ingestor.accept(payload(reading), source="test").status == "accepted"


def anchorings(cold_chain: ColdChain) -> list[AnchoredWindow]:
    c = cold_chain.consortium
    logs = rpc(
        c.w3,
        "eth_getLogs",
        [
            {
                "address": c.deployment.address("ColdChainCompliance"),
                "topics": [READINGS_ANCHORED_TOPIC],
                "fromBlock": hex(c.deployment.deploy_block),
                "toBlock": "latest",
            }
        ],
    )
    return [decode_readings_anchored(raw) for raw in logs]  # type: ignore[union-attr,misc]


def windows(engine) -> list[ReadingWindow]:
    with reading_session(engine) as session:
        return list(session.scalars(select(ReadingWindow).order_by(ReadingWindow.id)))


def submissions(engine) -> list[ComplianceSubmission]:
    with reading_session(engine) as session:
        return list(session.scalars(select(ComplianceSubmission)))


def claims_not_on_chain(cold_chain: ColdChain, engine) -> list[str]:
    """Records that claim a transaction the chain does not hold where they say."""
    w3 = cold_chain.consortium.w3
    problems = []
    records = [(w.id, w.status, w.tx_hash, w.block_number) for w in windows(engine)]
    records += [(s.id, s.status, s.tx_hash, s.block_number) for s in submissions(engine)]
    for record_id, status, tx_hash, block in records:
        if status not in (WindowStatus.ANCHORED, SubmissionStatus.CONFIRMED) or tx_hash is None:
            continue
        receipt = rpc(w3, "eth_getTransactionReceipt", [tx_hash])
        if receipt is None or int(receipt["blockNumber"], 16) != block:  # type: ignore[index]
            problems.append(f"{status} record {record_id}: {tx_hash} is not in block {block}")
    return problems


def excursion_lot(cold_chain: ColdChain, bridge: Bridge) -> tuple[bytes, DeviceKey]:
    """A lot whose device reported an excursion (2-3): one window and one submission."""
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    feed(bridge, device, lot, {1: 5000, 2: EXCURSION_C, 3: EXCURSION_C, 4: 5000})
    return lot, device


def test_a_chain_reverted_to_an_earlier_state_gets_its_anchorings_and_submissions_again(
    cold_chain, engine
):
    c = cold_chain.consortium
    bridge = make_bridge(cold_chain, engine)
    lot, device = excursion_lot(cold_chain, bridge)
    snapshot = rpc(c.w3, "evm_snapshot", [])
    bridge.run_once()
    assert [w.status for w in windows(engine)] == [WindowStatus.ANCHORED]
    assert [s.status for s in submissions(engine)] == [SubmissionStatus.CONFIRMED]
    assert rpc(c.w3, "evm_revert", [snapshot]) is True

    # The chain no longer has them: nothing may claim otherwise, and health says so.
    bridge.submitter.run_once(wait=False)
    assert claims_not_on_chain(cold_chain, engine) == []
    assert CHAIN_ROLLBACK in bridge.conditions(), "no condition while the bridge catches up"

    bridge.submitter.drain()
    assert [(w.status, w.first_seq, w.last_seq) for w in windows(engine)] == [
        (WindowStatus.ANCHORED, 1, 4)
    ]
    assert [s.status for s in submissions(engine)] == [SubmissionStatus.CONFIRMED]
    assert claims_not_on_chain(cold_chain, engine) == []
    assert [(a.first_seq, a.last_seq) for a in anchorings(cold_chain)] == [(1, 4)]
    state = cold_chain.compliance.functions.complianceState(lot, device.address).call()
    assert state[0] == 4, "the excursion's readings reached the contract again"
    assert CHAIN_ROLLBACK not in bridge.conditions(), "caught up: the condition is cleared"


def test_a_reorg_that_drops_anchorings_is_noticed_by_their_blocks_hashes(cold_chain, engine):
    c = cold_chain.consortium
    bridge = make_bridge(cold_chain, engine)
    excursion_lot(cold_chain, bridge)
    bridge.run_once()
    head = c.w3.eth.block_number
    # A restarted bridge: no nonce handed out by this process, the same head afterwards.
    bridge.submitter.sender.nonces.resync()
    rpc(c.w3, "anvil_reorg", [3, []])
    assert c.w3.eth.block_number == head
    assert anchorings(cold_chain) == []

    bridge.submitter.run_once(wait=False)
    assert claims_not_on_chain(cold_chain, engine) == []
    assert {w.status for w in windows(engine)} != {WindowStatus.ANCHORED}
    assert CHAIN_ROLLBACK in bridge.conditions()

    bridge.submitter.drain()
    assert [(a.first_seq, a.last_seq) for a in anchorings(cold_chain)] == [(1, 4)]
    assert claims_not_on_chain(cold_chain, engine) == []
    assert CHAIN_ROLLBACK not in bridge.conditions()


def test_transactions_behind_a_nonce_gap_are_sent_again_not_left_waiting(cold_chain, engine):
    """The node lost the account's earlier transactions: what this process sends next sits
    behind the gap forever unless the submitter notices that its nonce is ahead."""
    c = cold_chain.consortium
    bridge = make_bridge(cold_chain, engine)
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    snapshot = rpc(c.w3, "evm_snapshot", [])
    feed(bridge, device, lot, dict.fromkeys(range(1, 4), 5000))
    bridge.run_once()
    assert rpc(c.w3, "evm_revert", [snapshot]) is True
    # The revert took the anchoring with it; forget that it was ever recorded.
    with writing(engine) as session:
        session.execute(update(ReadingWindow).values(status=WindowStatus.PENDING, tx_hash=None))
    feed(bridge, device, lot, dict.fromkeys(range(4, 7), 5000))

    bridge.run_once()

    assert [(a.first_seq, a.last_seq) for a in anchorings(cold_chain)] == [(1, 3), (4, 6)]
    assert {w.status for w in windows(engine)} == {WindowStatus.ANCHORED}
    assert claims_not_on_chain(cold_chain, engine) == []


def test_a_window_two_senders_race_with_is_anchored_once(cold_chain, engine, monkeypatch):
    """Two instances both believing they send (the shared identity of issue 12): the second's
    anchoring of the same window is refused by the contract, and its record resolved from the
    chain's log."""
    c = cold_chain.consortium
    first = make_bridge(cold_chain, engine, instance_name="first")
    second = make_bridge(cold_chain, engine, instance_name="second")
    monkeypatch.setattr(second.lease, "hold", lambda: True)
    monkeypatch.setattr(second.lease, "held_in", lambda connection: True)
    lot = cold_chain.lot()
    device = cold_chain.device(lot)
    feed(first, device, lot, dict.fromkeys(range(1, 81), 5000))
    first.windows.close_due()
    (window,) = windows(engine)
    # Both read the window as pending before either recorded its send.
    first.submitter.run_once()
    with writing(engine) as session:
        session.execute(
            update(ReadingWindow).values(
                status=WindowStatus.PENDING, tx_hash=None, send_attempted_block=None
            )
        )

    second.submitter.drain()

    found = anchorings(cold_chain)
    assert [(a.first_seq, a.last_seq) for a in found] == [(1, 80)], "anchored twice"
    (window,) = windows(engine)
    assert (window.status, window.tx_hash) == (WindowStatus.ANCHORED, found[0].tx_hash)
    assert c.w3.eth.block_number == found[0].block_number, "a duplicate was mined (reverted)"
