"""Chapters 5-8 of the demo's story: the pallet shipped, the loggers' signed readings over
MQTT (or HTTP), lot B quarantined by the contract with its FitForUse suspended in that
transaction, lot A received and certified, then transformed into vials."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlmodel import Session, select

from credentials.identities import account_signer
from credentials.issue import credential_hash
from credentials.registry import CredentialRegistryClient, CredentialStatus
from credentials.service import issue_and_anchor
from credentials.types import CredentialType
from ledger_client.identifiers import DigitalLink
from oracle_bridge.errors import BridgeError
from oracle_bridge.readings import Reading, ReadingDomain
from oracle_bridge.shipment import ShipmentNotAnchored, compliance_claims, shipment_summary
from oracle_bridge.simulator import (
    HttpReadingSender,
    Profile,
    PublishingSender,
    ReadingSender,
    send_readings,
    simulated_readings,
)
from oracle_bridge.store import DeadLetter
from provenance.demo import events
from provenance.demo.cast import QUALITY
from provenance.demo.client import wait_until
from provenance.demo.story import Story, hex_id, label

READING_INTERVAL_S = 60
IN_RANGE_BEFORE = 60
UNCALIBRATED_READINGS = 5
EXCURSION_C = 9.4
EXCURSION_S = 40 * 60
# The simulator's in-range temperature (`ReadingProfile.temp_milli_c`).
STEADY_MILLI_C = 5_000
# The readings of one HTTP request (MQTT publishes them one by one).
HTTP_BATCH = 100


def pack_and_ship(story: Story) -> None:
    story.chapter("5. Packed onto a pallet and shipped")
    lots = story.record.lots
    pallet = events.pallet_sscc(lots.run)
    story.capture(
        events.packing_and_shipping(
            [lots.lot_a, lots.lot_b], pallet, datetime.now(UTC) - timedelta(hours=3)
        ),
        f"packing onto pallet {pallet.rsplit('/', 1)[-1]} and shipping",
    )
    for lot in (lots.lot_a, lots.lot_b):
        batch = story.indexed(lot, events=3)
        story.record.check(
            f"lot {lot.value}: commissioned, packed and shipped through capture",
            [e["bizStep"] for e in batch["events"]][:3] == ["commissioning", "packing", "shipping"],
        )


def readings(story: Story) -> None:
    story.chapter(f"6. The loggers stream signed readings over {story.record.transport}")
    domain = ReadingDomain(
        chain_id=story.chain_id,
        verifying_contract=story.deployment.address("ColdChainCompliance"),
    )
    end = int(time.time())
    with _reading_sender(story) as (sender, batch_size):
        for logger in story.record.loggers:
            warm = logger.lot == story.record.lots.lot_b
            readings = simulated_readings(
                device=logger.key.address,
                batch_id=logger.lot.batch_id,
                profile=Profile.EXCURSION if warm else Profile.STEADY,
                count=IN_RANGE_BEFORE if logger.calibrated else UNCALIBRATED_READINGS,
                interval_s=READING_INTERVAL_S,
                first_seq=1,
                end_timestamp=end,
                event_temp_milli_c=round(EXCURSION_C * 1000),
                event_seconds=EXCURSION_S,
            )
            progress = story.progress
            assert progress is not None
            task = progress.add_task(
                f"{logger.name} → lot {logger.lot.value}", total=readings.count
            )
            report = send_readings(
                (logger.key.sign(_drift(r), domain=domain) for r in readings),
                sender,
                batch_size=batch_size,
                on_sent=partial(progress.advance, task),
            )
            statuses = ", ".join(f"{n} {s}" for s, n in report.statuses.items())
            what = (
                f"with a {EXCURSION_S // 60}-minute excursion at {EXCURSION_C} °C"
                if warm
                else "all in range"
            )
            story.step(f"{logger.name}: {readings.count} signed readings {what} — {statuses}")
    _uncalibrated_refused(story)
    _quarantined_by_the_contract(story)


def _uncalibrated_refused(story: Story) -> None:
    logger = story.record.loggers[2]

    def refused() -> list[str] | None:
        """The reasons of the dead letters of all its readings, once all are in."""
        with Session(story.node.bridge_engine) as session:
            letters = session.exec(
                select(DeadLetter).where(DeadLetter.device == logger.key.address)
            ).all()
        return (
            [letter.reason for letter in letters] if len(letters) >= UNCALIBRATED_READINGS else None
        )

    reasons = wait_until(refused, "logger 3's refusals", 60)
    passed = story.record.check(
        "the uncalibrated logger's readings are refused",
        all("calibration" in reason for reason in reasons),
        reasons[0],
    )
    story.step(
        f"logger 3 (uncalibrated): {len(reasons)} readings refused by the bridge — "
        f"[yellow]{reasons[0]}[/yellow]" + ("" if passed else " [red](unexpected)[/red]")
    )


def _quarantined_by_the_contract(story: Story) -> None:
    lot_b = story.record.lots.lot_b

    def quarantined() -> dict[str, Any] | None:
        batch = story.batch(lot_b)
        return batch if batch is not None and batch["status"] == "QUARANTINED" else None

    batch = wait_until(quarantined, f"lot {lot_b.value} to be quarantined")
    change = batch["statusHistory"][-1]
    contract = story.deployment.address("ColdChainCompliance")
    by_contract = change["by"].lower() == contract.lower()
    nobody_else = [c["by"].lower() for c in batch["statusHistory"]] == [contract.lower()]
    story.record.check(
        f"lot {lot_b.value} is QUARANTINED on chain by ColdChainCompliance, no one calling",
        by_contract and nobody_else,
        f"{change['reason']} in {change['tx']}",
    )
    story.step(
        f"lot {lot_b.value} is [bold red]QUARANTINED[/bold red] by the ColdChainCompliance "
        f"contract ({change['reason']}) in block {change['block']}, tx {change['tx'][:18]}…"
        " — nobody called quarantine"
    )
    _fit_for_use_suspended_with(story, lot_b, change)


def _fit_for_use_suspended_with(story: Story, lot: DigitalLink, change: dict[str, Any]) -> None:
    """The FitForUse reads VALID the block before the quarantine and SUSPENDED from its
    transaction on: suspended in the same transaction."""
    listed = story.credentials_of(lot, "quality")
    fit = next(c for c in listed if c["type"] == "FitForUse")
    registry = story.deployment.contract(story.w3, "CredentialRegistry")
    digest = bytes.fromhex(fit["credential_hash"][2:])
    before = registry.functions.status(digest).call(block_identifier=change["block"] - 1)
    after = registry.functions.status(digest).call(block_identifier=change["block"])
    story.record.check(
        f"lot {lot.value}'s FitForUse is suspended in the quarantine's transaction",
        fit["status"] == "SUSPENDED"
        and (CredentialStatus(before), CredentialStatus(after))
        == (CredentialStatus.VALID, CredentialStatus.SUSPENDED),
        f"API says {fit['status']}",
    )
    story.step(
        f"its FitForUse: {CredentialStatus(before).name} in block {change['block'] - 1}, "
        f"{CredentialStatus(after).name} in block {change['block']}; the API says "
        f"[bold]{fit['status']}[/bold]"
    )


def receive_and_certify(story: Story) -> None:
    story.chapter("7. Lot A received and certified; lot B held")
    lots = story.record.lots
    now = datetime.now(UTC)
    story.capture(events.receiving(lots.lot_a, now), f"receiving of lot {lots.lot_a.value}")
    refused = story.capture(events.receiving(lots.lot_b, now), None, expect="FAILED")
    story.record.check(
        f"receiving quarantined lot {lots.lot_b.value} is refused",
        any("QUARANTINED" in error for error in refused["errors"]),
        "; ".join(refused["errors"]),
    )
    story.step(f"receiving lot {lots.lot_b.value} refused: [yellow]{refused['errors'][0]}[/yellow]")
    claims = wait_until(
        lambda: _shipment_claims(story, lots.lot_a),
        f"every reading of lot {lots.lot_a.value} anchored",
    )
    batch = story.batch(lots.lot_a) or {}
    out_of_range = max(d["secondsOutOfRange"] or 0 for d in batch["readings"])
    claims["secondsOutOfRange"] = out_of_range
    vc = issue_and_anchor(
        registry=CredentialRegistryClient(story.sender(QUALITY), story.deployment),
        signer=account_signer(QUALITY.key, chain_id=story.chain_id),
        credential_type=CredentialType.COLD_CHAIN_COMPLIANCE,
        subject_did=story.record.asset_dids[lots.lot_a.value],
        claims=claims,
        expiration_date=now + timedelta(days=365),
        store=story.node.credential_store,
    )
    listed = story.credentials_of(lots.lot_a, "auditor")
    statuses = {c["type"]: c["status"] for c in listed}
    story.record.check(
        f"lot {lots.lot_a.value} holds a valid ColdChainComplianceCredential",
        statuses.get("ColdChainComplianceCredential") == "VALID"
        and statuses.get("FitForUse") == "VALID"
        and claims["readingCount"] > 0,
        str(statuses),
    )
    story.step(
        f"ColdChainComplianceCredential 0x{credential_hash(vc).hex()[:12]}… for lot "
        f"{lots.lot_a.value}: MKT {claims['mktMilliC'] / 1000:.2f} °C, min "
        f"{claims['minTempMilliC'] / 1000:.1f} °C, max {claims['maxTempMilliC'] / 1000:.1f} °C,"
        f" {out_of_range} s out of range, {claims['readingCount']} readings — "
        f"{statuses.get('ColdChainComplianceCredential')}"
    )
    try:
        compliance_claims(shipment_summary(story.node.bridge_engine, lots.lot_b))
    except BridgeError as refusal:
        story.record.check(f"lot {lots.lot_b.value} cannot be certified", True, str(refusal))
        story.step(f"no certificate for lot {lots.lot_b.value}: [yellow]{refusal}[/yellow]")
    else:
        story.record.check(f"lot {lots.lot_b.value} cannot be certified", False)


def transform(story: Story) -> None:
    story.chapter("8. Lot A filled into vials")
    lots = story.record.lots
    story.capture(
        events.transformation(lots.lot_a, lots.vials, datetime.now(UTC)),
        f"transformation of lot {lots.lot_a.value} into lot {lots.vials.value}",
    )
    story.indexed(lots.vials, events=1)
    trace = story.api["auditor"].get(
        f"/api/v1/trace/{hex_id(lots.vials)}", direction="backward", depth=5
    )
    uris = {node["uri"] for node in trace["nodes"]}
    story.record.check(
        f"lot {lots.vials.value} traces back to lot {lots.lot_a.value}",
        lots.lot_a.uri in uris
        and any(edge["relation"] == "transformation" for edge in trace["edges"]),
    )
    story.step(
        f"GET /api/v1/trace/…?direction=backward from lot {lots.vials.value}: "
        + ", ".join(sorted(label(u) for u in uris if u and u != lots.vials.uri))
        + " (transformation)"
    )


def _shipment_claims(story: Story, lot: DigitalLink) -> dict[str, Any] | None:
    """The ColdChainComplianceCredential claims of `lot` from the bridge's records, as
    `provenance credential issue --shipment` takes them; None until all are anchored."""
    try:
        return compliance_claims(shipment_summary(story.node.bridge_engine, lot))
    except ShipmentNotAnchored:
        return None


@contextmanager
def _reading_sender(story: Story) -> Iterator[tuple[ReadingSender, int]]:
    if story.node.mqtt is None:
        yield HttpReadingSender(story.node.base_url), HTTP_BATCH
        return
    from oracle_bridge.sources.mqtt import MqttPublisher

    host, port, prefix = story.node.mqtt
    with MqttPublisher(host=host, port=port) as publisher:
        yield PublishingSender(publisher, topic_prefix=prefix), 1


def _drift(reading: Reading) -> Reading:
    """An in-range reading of the simulator's steady 5 °C given a cold room's slow swing of
    ±0.9 °C, so the lot's extremes and MKT read as a real logger's would."""
    if reading.temp_milli_c != STEADY_MILLI_C:
        return reading
    swing = round(900 * math.sin(reading.seq / 6))
    return replace(reading, temp_milli_c=STEADY_MILLI_C + swing)
