"""Shipment summaries and ColdChainComplianceCredential claims, from the bridge database."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from credentials.types import CredentialType, subject_problems
from ledger_client.identifiers import DigitalLink
from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import BridgeError, NoReadings
from oracle_bridge.mkt import mean_kinetic_temperature
from oracle_bridge.rules import Decision
from oracle_bridge.shipment import (
    ShipmentHadExcursion,
    ShipmentNotAnchored,
    ShipmentNotCertifiable,
    compliance_claims,
    shipment_summary,
)
from oracle_bridge.store import (
    DeviceComplianceState,
    ReadingWindow,
    WindowStatus,
    reading_session,
    writing,
)
from oracle_bridge.windows import WindowCloser
from tests.factories import make_consortium
from tests.oracle_bridge.runtime.bridge_runtime_factories import (
    BATCH,
    ORACLE,
    RULE,
    T0,
    ColdChain,
    payload,
    signed_of,
)

LOT = DigitalLink.lot("09506000134352", "LOT-1")
OTHER_LOT = DigitalLink.lot("09506000134352", "LOT-2")
assert LOT.batch_id == BATCH, "the factories' readings belong to LOT"
LOT_DID = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"


def feed(ingestor, device: DeviceKey, temps: dict[int, int], **fields) -> None:
    for seq, temp in temps.items():
        signed = signed_of(device, seq, temp_milli_c=temp, **fields)
        result = ingestor.accept(payload(signed), source="test")
        assert result.status == "accepted", result


def close_windows(engine, rules, clock) -> None:
    WindowCloser(engine=engine, rules=rules, clock=clock, max_age_s=0).close_due()


def anchor_all(engine, *, first_block: int = 100) -> list[str]:
    """Mark every window anchored, one transaction each, in window order; their hashes."""
    with writing(engine) as session:
        ids = list(session.scalars(select(ReadingWindow.id).order_by(ReadingWindow.id)))
        hashes = []
        for offset, window_id in enumerate(ids):
            tx_hash = "0x" + f"{window_id:02x}" * 32
            session.execute(
                update(ReadingWindow)
                .where(ReadingWindow.id == window_id)
                .values(
                    status=WindowStatus.ANCHORED, tx_hash=tx_hash, block_number=first_block + offset
                )
            )
            hashes.append(tx_hash)
    return hashes


@pytest.mark.unit
def test_an_anchored_steady_shipment_is_summarised_and_gives_schema_valid_claims(
    engine, ingestor, rules, clock, device
):
    temps = {1: 4000, 2: 5500, 3: 6100, 4: 3200, 5: 5000}
    feed(ingestor, device, {seq: temps[seq] for seq in (1, 2, 3)})
    close_windows(engine, rules, clock)
    feed(ingestor, device, {seq: temps[seq] for seq in (4, 5)})
    close_windows(engine, rules, clock)
    hashes = anchor_all(engine)
    assert len(hashes) == 2

    summary = shipment_summary(engine, LOT)

    expected_mkt = mean_kinetic_temperature(
        [signed_of(device, seq, temp_milli_c=temp).reading for seq, temp in temps.items()]
    )
    assert summary.lot == LOT.uri and summary.batch_id == BATCH
    assert summary.reading_count == 5 and summary.unanchored_count == 0
    assert (summary.min_temp_milli_c, summary.max_temp_milli_c) == (3200, 6100)
    assert summary.mkt_milli_c == round(expected_mkt * 1000)
    assert (summary.first_timestamp, summary.last_timestamp) == (T0 + 60, T0 + 300)
    assert summary.devices == (device.address,)
    assert summary.anchor_transactions == tuple(hashes)
    assert not summary.had_excursion and summary.halted == ()

    claims = compliance_claims(summary)
    assert claims == {
        "lot": LOT.uri,
        "minTempMilliC": 3200,
        "maxTempMilliC": 6100,
        "mktMilliC": summary.mkt_milli_c,
        "secondsOutOfRange": 0,
        "readingCount": 5,
        "anchorTransactions": hashes,
    }
    subject = {"id": LOT_DID, **claims}
    assert subject_problems(CredentialType.COLD_CHAIN_COMPLIANCE, subject) == []


@pytest.mark.unit
def test_the_mkt_is_the_warmest_loggers_and_the_extremes_span_every_logger(
    engine, ingestor, rules, policy, clock, device
):
    cold = DeviceKey.generate()
    policy.register(cold.address, batch_id=BATCH)
    feed(ingestor, device, {1: 7000, 2: 7500, 3: 7900})
    feed(ingestor, cold, {1: 2100, 2: 2500, 3: 3000})
    close_windows(engine, rules, clock)
    anchor_all(engine)

    summary = shipment_summary(engine, LOT)

    warm = mean_kinetic_temperature(
        [
            signed_of(device, s, temp_milli_c=t).reading
            for s, t in {1: 7000, 2: 7500, 3: 7900}.items()
        ]
    )
    assert summary.reading_count == 6
    assert (summary.min_temp_milli_c, summary.max_temp_milli_c) == (2100, 7900)
    assert summary.mkt_milli_c == round(warm * 1000)
    assert set(summary.devices) == {device.address, cold.address}
    assert len(summary.anchor_transactions) == 2


@pytest.mark.unit
def test_readings_of_other_lots_are_not_counted(engine, ingestor, rules, policy, clock, device):
    other = DeviceKey.generate()
    rules.rules[OTHER_LOT.batch_id] = RULE
    policy.register(other.address, batch_id=OTHER_LOT.batch_id)
    feed(ingestor, device, {1: 5000, 2: 5000})
    feed(ingestor, other, {1: 30_000, 2: 30_000}, batch_id=OTHER_LOT.batch_id)
    close_windows(engine, rules, clock)
    anchor_all(engine)

    summary = shipment_summary(engine, LOT)

    assert summary.reading_count == 2 and summary.max_temp_milli_c == 5000
    assert len(summary.anchor_transactions) == 1 and not summary.had_excursion
    with pytest.raises(NoReadings):
        shipment_summary(engine, DigitalLink.lot("09506000134352", "LOT-3"))


@pytest.mark.unit
def test_a_lot_without_readings_is_refused(engine):
    with pytest.raises(NoReadings) as refused:
        shipment_summary(engine, LOT)
    assert isinstance(refused.value, BridgeError)
    assert LOT.uri in str(refused.value)


@pytest.mark.unit
def test_an_excursion_refuses_the_claims_even_when_every_reading_is_anchored(
    engine, ingestor, rules, clock, device
):
    # 9 °C (over the rule's 8 °C) for one minute, then back in range: excursion, no quarantine
    feed(ingestor, device, {1: 5000, 2: 9000, 3: 9000, 4: 5000, 5: 5000})
    close_windows(engine, rules, clock)
    anchor_all(engine)

    summary = shipment_summary(engine, LOT)

    assert summary.had_excursion
    assert dict(summary.decisions) == {
        Decision.EXCURSION_STARTED: 1,
        Decision.EXCURSION_EXTENDED: 1,
        Decision.EXCURSION_ENDED: 1,
    }
    with pytest.raises(ShipmentHadExcursion, match="had an excursion .*EXCURSION_STARTED ×1"):
        compliance_claims(summary)


@pytest.mark.unit
def test_a_quarantine_refuses_the_claims(engine, ingestor, rules, clock, device):
    feed(ingestor, device, {1: 5000, 2: 30_000})  # over the 25 °C hard limit
    close_windows(engine, rules, clock)
    anchor_all(engine)

    summary = shipment_summary(engine, LOT)

    assert dict(summary.decisions) == {Decision.QUARANTINE_HARD_LIMIT: 1}
    with pytest.raises(ShipmentNotCertifiable, match="QUARANTINE_HARD_LIMIT"):
        compliance_claims(summary)


@pytest.mark.unit
def test_readings_not_yet_anchored_refuse_the_claims(engine, ingestor, rules, clock, device):
    feed(ingestor, device, {1: 5000, 2: 5000, 3: 5000})
    close_windows(engine, rules, clock)
    anchor_all(engine)
    feed(ingestor, device, {4: 5000, 5: 5000})  # in the inbox, in no window yet

    summary = shipment_summary(engine, LOT)
    assert (summary.reading_count, summary.unanchored_count) == (5, 2)
    with pytest.raises(ShipmentNotAnchored, match="2 of the 5 readings .* are not anchored"):
        compliance_claims(summary)

    close_windows(engine, rules, clock)  # in a window, not yet anchored
    summary = shipment_summary(engine, LOT)
    assert summary.unanchored_count == 2 and len(summary.anchor_transactions) == 1
    with pytest.raises(ShipmentNotAnchored):
        compliance_claims(summary)

    anchor_all(engine, first_block=200)
    assert compliance_claims(shipment_summary(engine, LOT))["readingCount"] == 5


@pytest.mark.unit
def test_a_halted_rule_engine_refuses_the_claims(engine, ingestor, rules, clock, device):
    feed(ingestor, device, {1: 5000, 2: 5000})
    close_windows(engine, rules, clock)
    anchor_all(engine)
    with writing(engine) as session:
        session.execute(
            update(DeviceComplianceState).values(halted_reason="reading timestamp regressed")
        )

    summary = shipment_summary(engine, LOT)
    with pytest.raises(ShipmentNotCertifiable, match="stopped judging .*timestamp regressed"):
        compliance_claims(summary)


@pytest.mark.integration
def test_on_anvil_the_anchor_transactions_are_the_chains(w3, engine):
    cold_chain = ColdChain(make_consortium(w3), ORACLE)
    c = cold_chain.consortium
    link = DigitalLink.lot("09506000134352", f"SHIP-{id(cold_chain) % 100_000}")
    product_class = link.product_class
    c.set_rule(product_class, RULE)
    c.writer().create_batch(link.uri, product_class=product_class)
    device = cold_chain.device(link.batch_id)
    bridge = cold_chain.bridge(engine, clock=lambda: T0 + 100_000)
    for seq, temp in {1: 4000, 2: 5000, 3: 6000}.items():
        signed = signed_of(
            device, seq, domain=bridge.domain, batch_id=link.batch_id, temp_milli_c=temp
        )
        assert bridge.ingestor.accept(payload(signed), source="test").status == "accepted"
    bridge.run_once()

    summary = shipment_summary(engine, link)
    claims = compliance_claims(summary)

    with reading_session(engine) as session:
        windows = list(session.scalars(select(ReadingWindow)))
    assert [w.status for w in windows] == [WindowStatus.ANCHORED]
    receipt = c.w3.eth.get_transaction_receipt(claims["anchorTransactions"][0])
    assert receipt["status"] == 1
    assert receipt["to"] == c.deployment.address("ColdChainCompliance")
    assert claims["readingCount"] == 3
    assert (claims["minTempMilliC"], claims["maxTempMilliC"]) == (4000, 6000)
