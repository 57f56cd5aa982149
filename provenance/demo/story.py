"""The story `provenance demo` tells on a running embedded node (issue 17): five organizations,
calibrated loggers, a vaccine product class with its rule, two lots packed and shipped, an
excursion that quarantines lot B with no one in the loop, lot A certified and transformed,
quality's acknowledgement and an auditor who finds its own queries in the access trail.

EPCIS documents go through `POST /api/v1/capture`, readings through MQTT (or HTTP), queries
and quality's acknowledgement through the API with each organization's own token. What a
member does on chain outside the API (the governor's enrolments, device registration,
credential issuance) goes through the same clients the CLI commands use. Each outcome is
recorded as a `Check` for the self-check.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlmodel import Session, select
from web3 import Web3

from credentials.identities import account_signer, mint_asset_did
from credentials.issue import credential_hash
from credentials.keystore import store_key
from credentials.registry import CredentialRegistryClient, CredentialStatus
from credentials.service import issue_and_anchor
from credentials.store import CredentialStore
from credentials.types import CredentialType, format_instant
from ledger_client.deployment import Deployment
from ledger_client.identifiers import DigitalLink, InvalidIdentifier
from ledger_client.ledger import LedgerWriter
from ledger_client.membership import MembershipClient
from ledger_client.transactions import TransactionSender
from oracle_bridge.contracts import ComplianceRulesClient, DeviceRegistryClient
from oracle_bridge.device import DeviceKey
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
from provenance.demo.cast import (
    AUDITOR,
    CALIBRATION_LAB,
    LOGISTICS,
    MANUFACTURER,
    ORGANIZATIONS,
    PRODUCT_CLASS_NAME,
    QUALITY,
    TRUSTED_ISSUERS,
    VACCINE_GTIN,
    VACCINE_RULE,
    Organization,
    RunLots,
)
from provenance.demo.client import DemoStepFailed, NodeClient, quoted, wait_until
from provenance.embedded import mined_at_once

# The demo's asset keystores live in its state directory, for the dev chain only.
DEMO_PASSPHRASE = "demo only: throw-away asset keys of the dev chain"
READING_INTERVAL_S = 60
IN_RANGE_BEFORE = 60
EXCURSION_C = 9.4
EXCURSION_S = 40 * 60
# The simulator's in-range temperature (`ReadingProfile.temp_milli_c`).
STEADY_MILLI_C = 5_000
# The readings of one MQTT or HTTP delivery (MQTT publishes them one by one anyway).
HTTP_BATCH = 100


@dataclass(frozen=True)
class Check:
    """One outcome the story promises, and whether it came out so."""

    what: str
    passed: bool
    detail: str = ""


@dataclass
class Logger:
    name: str
    key: DeviceKey
    lot: DigitalLink
    calibrated: bool


@dataclass
class StoryRecord:
    """What the story did and saw, for the summary and the self-check."""

    lots: RunLots
    first_block: int
    transport: str = "HTTP"
    checks: list[Check] = field(default_factory=list)
    asset_dids: dict[str, str] = field(default_factory=dict)
    loggers: list[Logger] = field(default_factory=list)
    credentials: dict[str, list[str]] = field(default_factory=dict)
    quarantine_tx: str | None = None

    def check(self, what: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(what, bool(passed), detail))
        return bool(passed)


@dataclass
class Node:
    """The running node as the story needs it: where it answers, its chain, its stores."""

    base_url: str
    w3: Web3
    deployment: Deployment
    tokens: dict[str, str]
    credential_store: CredentialStore
    bridge_engine: Any
    mqtt: tuple[str, int, str] | None  # host, port, topic prefix; None: HTTP ingress only
    state_dir: Path


def next_run(w3: Web3, deployment: Deployment) -> RunLots:
    """The first run whose lots the chain does not know yet: a second demo on the same chain
    tells the story again with lot numbers of its own."""
    view = LedgerWriter(TransactionSender(w3, MANUFACTURER.account), deployment)
    run = 1
    while view.batch(RunLots(run).lot_a.batch_id).created_at:
        run += 1
    return RunLots(run)


class Story:
    """Tells the story on `node`, printing each step to `console`."""

    def __init__(self, node: Node, console: Console, *, stopping: Callable[[], bool]) -> None:
        self.node = node
        self.console = console
        self.stopping = stopping
        self.w3 = node.w3
        self.deployment = node.deployment
        self.chain_id = node.deployment.chain_id
        self.api = {name: NodeClient(node.base_url, token) for name, token in node.tokens.items()}
        self.record = StoryRecord(
            next_run(self.w3, self.deployment),
            self.w3.eth.block_number,
            transport="HTTP" if node.mqtt is None else "MQTT",
        )
        self.progress: Progress | None = None

    # -- how steps are told --------------------------------------------------------------

    def step(self, message: str) -> None:
        # No emoji codes: a "did:key:…" would print a key emoji.
        self.console.print(f"  [green]✓[/green] {message}", highlight=False, emoji=False)

    def chapter(self, title: str) -> None:
        if self.stopping():
            raise KeyboardInterrupt
        self.console.rule(f"[bold]{title}", align="left", style="cyan")

    def sender(self, organization: Organization) -> TransactionSender:
        return TransactionSender(self.w3, organization.account)

    @contextmanager
    def at_once(self) -> Iterator[None]:
        """Set-up transactions mined as they arrive, as `provenance serve` mines its own
        set-up; everything through the node runs at the chain's 1 s blocks."""
        with mined_at_once(self.w3):
            yield

    def tell(self) -> StoryRecord:
        """The whole story; a step that fails ends it with `DemoStepFailed` after recording
        what had come out so far in `self.record`."""
        lots = self.record.lots
        self.console.print(
            f"Run {lots.run} of the story on this chain: lots {lots.lot_a.value}, "
            f"{lots.lot_b.value} and {lots.vials.value}",
            highlight=False,
        )
        self.consortium()
        self.product_class()
        self.loggers()
        self.lots()
        self.pack_and_ship()
        self.readings()
        self.receive_and_certify()
        self.transform()
        self.acknowledge()
        self.audit()
        self.scan_pages()
        return self.record

    # -- the chapters --------------------------------------------------------------------

    def consortium(self) -> None:
        self.chapter("1. A consortium of five organizations")
        governor = MembershipClient(self.sender(MANUFACTURER), self.deployment)
        trust_list = CredentialRegistryClient(self.sender(MANUFACTURER), self.deployment)
        with self.at_once():
            for org in ORGANIZATIONS:
                if governor.organization(org.address) is None:
                    governor.register_organization(
                        org.address, did=org.did(self.chain_id), name=org.name
                    )
                for role in org.roles:
                    if not governor.has_role(role, org.address):
                        governor.grant_role(role, org.address)
            for issuer, type_name in TRUSTED_ISSUERS:
                if not trust_list.trusted(issuer.address, type_name):
                    trust_list.set_trusted(issuer.address, type_name, True)
        for org in ORGANIZATIONS:
            registered = governor.organization(org.address)
            roles = [role for role in org.roles if governor.has_role(role, org.address)]
            self.record.check(
                f"{org.name} ({org.part}) is a member with {', '.join(r.name for r in org.roles)}",
                registered is not None and registered.active and len(roles) == len(org.roles),
            )
            self.step(
                f"{org.part}: [bold]{org.name}[/bold] {org.did(self.chain_id)} — "
                f"{', '.join(role.name for role in roles)}"
            )
        self.step(
            "trust list: "
            + "; ".join(f"{issuer.name} for {kind}" for issuer, kind in TRUSTED_ISSUERS)
        )

    def product_class(self) -> None:
        self.chapter(f'2. The product class "{PRODUCT_CLASS_NAME}" and its rule')
        product_class = self.record.lots.lot_a.product_class
        rules = ComplianceRulesClient(self.sender(QUALITY), self.deployment)
        with self.at_once():
            if (rules.class_authority(product_class) or "").lower() != QUALITY.address.lower():
                ComplianceRulesClient(
                    self.sender(MANUFACTURER), self.deployment
                ).assign_class_authority(product_class, QUALITY.address)
            current = rules.rule(product_class)
            if current is None or current[0] != VACCINE_RULE:
                rules.set_rule(product_class, VACCINE_RULE)
        rule, version = rules.rule(product_class) or (None, 0)
        self.record.check(f'the rule of "{PRODUCT_CLASS_NAME}" is on chain', rule == VACCINE_RULE)
        self.step(
            f"GTIN {VACCINE_GTIN}: {QUALITY.name} is the class authority; rule v{version}: "
            "2–8 °C, at most 15 min out of range, hard limits −5/25 °C, no silence over 1 h, "
            "calibrated loggers only"
        )

    def loggers(self) -> None:
        self.chapter("3. Temperature loggers and their calibration")
        lots = self.record.lots
        self.record.loggers = [
            Logger("logger 1", DeviceKey.generate(), lots.lot_a, calibrated=True),
            Logger("logger 2", DeviceKey.generate(), lots.lot_b, calibrated=True),
            Logger("logger 3", DeviceKey.generate(), lots.lot_a, calibrated=False),
        ]
        devices = DeviceRegistryClient(self.sender(LOGISTICS), self.deployment)
        registry = CredentialRegistryClient(self.sender(CALIBRATION_LAB), self.deployment)
        lab = account_signer(CALIBRATION_LAB.key, chain_id=self.chain_id)
        now = datetime.now(UTC)
        with self.at_once():
            for logger in self.record.loggers:
                # The logger signs its own registration: no one enrols a key it does not hold.
                devices.register_device(
                    logger.key.sign_registration(
                        organization=LOGISTICS.address, domain=devices.domain
                    )
                )
                did = logger.key.did(self.chain_id)
                if not logger.calibrated:
                    self.step(
                        f"{logger.name} {did}: registered by {LOGISTICS.name}, never calibrated"
                    )
                    continue
                vc = issue_and_anchor(
                    registry=registry,
                    signer=lab,
                    credential_type=CredentialType.CALIBRATION_CERTIFICATE,
                    subject_did=did,
                    claims=_calibration_claims(now),
                    expiration_date=now + timedelta(days=365),
                    store=self.node.credential_store,
                )
                self.step(
                    f"{logger.name} {did}: registered by {LOGISTICS.name}, "
                    f"CalibrationCertificate 0x{credential_hash(vc).hex()[:12]}… from "
                    f"{CALIBRATION_LAB.name}"
                )

    def lots(self) -> None:
        self.chapter("4. Two lots commissioned, each with a DID and a FitForUse credential")
        lots = self.record.lots
        pair = [lots.lot_a, lots.lot_b]
        self.capture(
            events.commissioning(pair, datetime.now(UTC) - timedelta(hours=4)), "commissioning"
        )
        manufacturer = LedgerWriter(self.sender(MANUFACTURER), self.deployment)
        binder = CredentialRegistryClient(self.sender(MANUFACTURER), self.deployment)
        quality = CredentialRegistryClient(self.sender(QUALITY), self.deployment)
        signer = account_signer(QUALITY.key, chain_id=self.chain_id)
        devices = DeviceRegistryClient(self.sender(LOGISTICS), self.deployment)
        keys = self.node.state_dir / "demo" / "asset-keys"
        with self.at_once():
            for lot in pair:
                asset = mint_asset_did()
                store_key(
                    keys / f"{asset.did.removeprefix('did:key:')}.json",
                    asset.private_key,
                    passphrase=DEMO_PASSPHRASE,
                )
                binder.bind_subject(asset.did, lot.batch_id)
                self.record.asset_dids[lot.value] = asset.did
                fit = issue_and_anchor(
                    registry=quality,
                    signer=signer,
                    credential_type=CredentialType.FIT_FOR_USE,
                    subject_did=asset.did,
                    claims={"lot": lot.uri},
                    expiration_date=datetime.now(UTC) + timedelta(days=365),
                    store=self.node.credential_store,
                )
                self.record.credentials.setdefault(lot.value, []).append("FitForUse")
                # A logger reports only on a lot its organization may write.
                manufacturer.authorize_writer(lot.batch_id, LOGISTICS.address)
                self.step(
                    f"lot {lot.value}: asset DID {_short(asset.did)} bound on chain; FitForUse "
                    f"0x{credential_hash(fit).hex()[:12]}… from {QUALITY.name}"
                )
            for logger in self.record.loggers:
                devices.assign_device(logger.key.address, logger.lot.batch_id)
                self.step(f"{logger.name} travels with lot {logger.lot.value}")

    def pack_and_ship(self) -> None:
        self.chapter("5. Packed onto a pallet and shipped")
        lots = self.record.lots
        pallet = events.pallet_sscc(lots.run)
        self.capture(
            events.packing_and_shipping(
                [lots.lot_a, lots.lot_b], pallet, datetime.now(UTC) - timedelta(hours=3)
            ),
            f"packing onto pallet {pallet.rsplit('/', 1)[-1]} and shipping",
        )
        for lot in (lots.lot_a, lots.lot_b):
            batch = self.indexed(lot, events=3)
            self.record.check(
                f"lot {lot.value}: commissioned, packed and shipped through capture",
                [e["bizStep"] for e in batch["events"]][:3]
                == ["commissioning", "packing", "shipping"],
            )

    def readings(self) -> None:
        self.chapter(f"6. The loggers stream signed readings over {self.record.transport}")
        domain = ReadingDomain(
            chain_id=self.chain_id,
            verifying_contract=self.deployment.address("ColdChainCompliance"),
        )
        end = int(time.time())
        with self._reading_sender() as (sender, batch_size):
            for logger in self.record.loggers:
                warm = logger.lot == self.record.lots.lot_b
                readings = simulated_readings(
                    device=logger.key.address,
                    batch_id=logger.lot.batch_id,
                    profile=Profile.EXCURSION if warm else Profile.STEADY,
                    count=IN_RANGE_BEFORE if logger.calibrated else 5,
                    interval_s=READING_INTERVAL_S,
                    first_seq=1,
                    end_timestamp=end,
                    event_temp_milli_c=round(EXCURSION_C * 1000),
                    event_seconds=EXCURSION_S,
                )
                assert self.progress is not None
                task = self.progress.add_task(
                    f"{logger.name} → lot {logger.lot.value}", total=readings.count
                )
                report = send_readings(
                    (logger.key.sign(_drift(r), domain=domain) for r in readings),
                    sender,
                    batch_size=batch_size,
                    on_sent=lambda n, task=task: self.progress.advance(task, n),  # type: ignore[union-attr]
                )
                statuses = ", ".join(f"{n} {s}" for s, n in report.statuses.items())
                what = (
                    f"with a {EXCURSION_S // 60}-minute excursion at {EXCURSION_C} °C"
                    if warm
                    else "all in range"
                )
                self.step(f"{logger.name}: {readings.count} signed readings {what} — {statuses}")
        self._uncalibrated_refused()
        self._quarantined_by_the_contract()

    def _uncalibrated_refused(self) -> None:
        logger = self.record.loggers[2]

        def refused() -> list[str]:
            with Session(self.node.bridge_engine) as session:
                letters = session.exec(
                    select(DeadLetter).where(DeadLetter.device == logger.key.address)
                ).all()
            return [letter.reason for letter in letters]

        reasons = wait_until(lambda: len(refused()) >= 5 and refused(), "logger 3's refusals", 60)
        passed = self.record.check(
            "the uncalibrated logger's readings are refused",
            all("calibration" in reason for reason in reasons),
            reasons[0],
        )
        self.step(
            f"logger 3 (uncalibrated): {len(reasons)} readings refused by the bridge — "
            f"[yellow]{reasons[0]}[/yellow]" + ("" if passed else " [red](unexpected)[/red]")
        )

    def _quarantined_by_the_contract(self) -> None:
        lot_b = self.record.lots.lot_b
        batch = wait_until(
            lambda: (b := self.batch(lot_b)) and b["status"] == "QUARANTINED" and b,
            f"lot {lot_b.value} to be quarantined",
        )
        change = batch["statusHistory"][-1]
        contract = self.deployment.address("ColdChainCompliance")
        by_contract = change["by"].lower() == contract.lower()
        nobody_else = [c["by"].lower() for c in batch["statusHistory"]] == [contract.lower()]
        self.record.quarantine_tx = change["tx"]
        self.record.check(
            f"lot {lot_b.value} is QUARANTINED on chain by ColdChainCompliance, no one calling",
            by_contract and nobody_else,
            f"{change['reason']} in {change['tx']}",
        )
        self.step(
            f"lot {lot_b.value} is [bold red]QUARANTINED[/bold red] by the ColdChainCompliance "
            f"contract ({change['reason']}) in block {change['block']}, tx {change['tx'][:18]}…"
            " — nobody called quarantine"
        )
        self._fit_for_use_suspended_with(lot_b, change)

    def _fit_for_use_suspended_with(self, lot: DigitalLink, change: dict[str, Any]) -> None:
        """The FitForUse reads VALID the block before the quarantine and SUSPENDED from its
        transaction on: suspended in the same transaction."""
        listed = self.credentials_of(lot, "quality")
        fit = next(c for c in listed if c["type"] == "FitForUse")
        registry = self.deployment.contract(self.w3, "CredentialRegistry")
        digest = bytes.fromhex(fit["credential_hash"][2:])
        before = registry.functions.status(digest).call(block_identifier=change["block"] - 1)
        after = registry.functions.status(digest).call(block_identifier=change["block"])
        self.record.check(
            f"lot {lot.value}'s FitForUse is suspended in the quarantine's transaction",
            fit["status"] == "SUSPENDED"
            and (CredentialStatus(before), CredentialStatus(after))
            == (CredentialStatus.VALID, CredentialStatus.SUSPENDED),
            f"API says {fit['status']}",
        )
        self.step(
            f"its FitForUse: {CredentialStatus(before).name} in block {change['block'] - 1}, "
            f"{CredentialStatus(after).name} in block {change['block']}; the API says "
            f"[bold]{fit['status']}[/bold]"
        )

    def receive_and_certify(self) -> None:
        self.chapter("7. Lot A received and certified; lot B held")
        lots = self.record.lots
        now = datetime.now(UTC)
        self.capture(events.receiving(lots.lot_a, now), f"receiving of lot {lots.lot_a.value}")
        refused = self.capture(events.receiving(lots.lot_b, now), None, expect="FAILED")
        self.record.check(
            f"receiving quarantined lot {lots.lot_b.value} is refused",
            any("QUARANTINED" in error for error in refused["errors"]),
            "; ".join(refused["errors"]),
        )
        self.step(
            f"receiving lot {lots.lot_b.value} refused: [yellow]{refused['errors'][0]}[/yellow]"
        )
        claims = wait_until(
            lambda: self._shipment_claims(lots.lot_a),
            f"every reading of lot {lots.lot_a.value} anchored",
        )
        batch = self.batch(lots.lot_a) or {}
        out_of_range = max(d["secondsOutOfRange"] or 0 for d in batch["readings"])
        claims["secondsOutOfRange"] = out_of_range
        vc = issue_and_anchor(
            registry=CredentialRegistryClient(self.sender(QUALITY), self.deployment),
            signer=account_signer(QUALITY.key, chain_id=self.chain_id),
            credential_type=CredentialType.COLD_CHAIN_COMPLIANCE,
            subject_did=self.record.asset_dids[lots.lot_a.value],
            claims=claims,
            expiration_date=now + timedelta(days=365),
            store=self.node.credential_store,
        )
        self.record.credentials[lots.lot_a.value].append("ColdChainComplianceCredential")
        listed = self.credentials_of(lots.lot_a, "auditor")
        statuses = {c["type"]: c["status"] for c in listed}
        self.record.check(
            f"lot {lots.lot_a.value} holds a valid ColdChainComplianceCredential",
            statuses.get("ColdChainComplianceCredential") == "VALID"
            and statuses.get("FitForUse") == "VALID"
            and claims["readingCount"] > 0,
            str(statuses),
        )
        self.step(
            f"ColdChainComplianceCredential 0x{credential_hash(vc).hex()[:12]}… for lot "
            f"{lots.lot_a.value}: MKT {claims['mktMilliC'] / 1000:.2f} °C, min "
            f"{claims['minTempMilliC'] / 1000:.1f} °C, max {claims['maxTempMilliC'] / 1000:.1f} °C,"
            f" {out_of_range} s out of range, {claims['readingCount']} readings — "
            f"{statuses.get('ColdChainComplianceCredential')}"
        )
        try:
            compliance_claims(shipment_summary(self.node.bridge_engine, lots.lot_b))
        except BridgeError as refusal:
            self.record.check(f"lot {lots.lot_b.value} cannot be certified", True, str(refusal))
            self.step(f"no certificate for lot {lots.lot_b.value}: [yellow]{refusal}[/yellow]")
        else:
            self.record.check(f"lot {lots.lot_b.value} cannot be certified", False)

    def transform(self) -> None:
        self.chapter("8. Lot A filled into vials")
        lots = self.record.lots
        self.capture(
            events.transformation(lots.lot_a, lots.vials, datetime.now(UTC)),
            f"transformation of lot {lots.lot_a.value} into lot {lots.vials.value}",
        )
        self.indexed(lots.vials, events=1)
        trace = self.api["auditor"].get(
            f"/api/v1/trace/{_hex(lots.vials)}", direction="backward", depth=5
        )
        uris = {node["uri"] for node in trace["nodes"]}
        self.record.check(
            f"lot {lots.vials.value} traces back to lot {lots.lot_a.value}",
            lots.lot_a.uri in uris
            and any(edge["relation"] == "transformation" for edge in trace["edges"]),
        )
        self.step(
            f"GET /api/v1/trace/…?direction=backward from lot {lots.vials.value}: "
            + ", ".join(sorted(_label(u) for u in uris if u and u != lots.vials.uri))
            + " (transformation)"
        )

    def acknowledge(self) -> None:
        self.chapter("9. The quality authority acknowledges lot B's excursion")
        lot_b = self.record.lots.lot_b
        comment = "Excursion of 40 min at 9.4 °C confirmed; lot held pending stability data."
        written = self.api["quality"].post(
            f"/api/v1/quarantines/{_hex(lot_b)}/acknowledge", {"comment": comment}
        )
        page = wait_until(
            lambda: (
                (
                    q := self.api["quality"].get("/api/v1/quarantines", batch=_hex(lot_b))[
                        "quarantines"
                    ]
                )
                and q[0]["acknowledgements"]
                and q
            ),
            "the acknowledgement to be indexed",
        )
        ack = page[0]["acknowledgements"][0]
        self.record.check(
            f"{QUALITY.name} acknowledged lot {lot_b.value}'s excursion with its comment",
            ack["comment"] == comment and ack["by"].lower() == QUALITY.address.lower(),
        )
        self.step(
            f"POST /api/v1/quarantines/…/acknowledge with the quality token: tx "
            f"{written['tx_hash'][:18]}…; on chain by {QUALITY.name}: “{comment}”"
        )

    def audit(self) -> None:
        self.chapter("10. The auditor looks into lot B")
        lot_b = self.record.lots.lot_b
        auditor = self.api["auditor"]
        started = datetime.now(UTC) - timedelta(seconds=1)
        found = auditor.get("/api/v1/events", MATCH_anyEPCClass=lot_b.uri)
        listed = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        self.step(
            f"GET /api/v1/events?MATCH_anyEPCClass=…{lot_b.value}: {len(listed)} events "
            f"({', '.join(e['bizStep'] for e in listed)})"
        )
        trace = auditor.get(f"/api/v1/trace/{_hex(lot_b)}", direction="forward", depth=5)
        uris = {node["id"]: node["uri"] for node in trace["nodes"]}
        self.step(
            "GET /api/v1/trace/…?direction=forward: "
            + ", ".join(
                f"{e['relation']} into {_label(uris.get(e['target']) or e['target'])}"
                for e in trace["edges"]
            )
        )
        proof = auditor.get(f"/api/v1/events/{quoted(listed[0]['eventID'])}/proof")
        self.record.check(
            f"lot {lot_b.value}'s events are queried and the first one's proof verifies",
            len(listed) >= 3 and proof["verified"] is True,
            f"{len(listed)} events",
        )
        self.record.check(
            f"lot {lot_b.value}'s trace shows its pallet",
            any(e["relation"] == "aggregation" for e in trace["edges"]),
        )
        self.step(
            f"proof of {listed[0]['eventID'][:28]}…: verified={proof['verified']} "
            f"(tx {proof['transactionHash'][:18]}…, block {proof['blockNumber']})"
        )
        mine = [
            e
            for e in self._trail(auditor)
            if e["organization"] == AUDITOR.did(self.chain_id)
            and datetime.fromisoformat(e["at"]) >= started
        ]
        paths = {e["path"] for e in mine}
        expected = {"/api/v1/events", f"/api/v1/trace/{_hex(lot_b)}"}
        self.record.check(
            "the auditor finds its own queries in the access trail",
            expected <= paths and any(p.endswith("/proof") for p in paths),
            f"{len(mine)} entries",
        )
        self.step(
            f"GET /api/v1/trail: the auditor's own {len(mine)} requests of this chapter are "
            "there — " + ", ".join(f"{e['method']} {e['path'][:40]}" for e in mine[:3]) + " …"
        )

    def scan_pages(self) -> None:
        self.chapter("11. What a scan of each lot shows")
        public = NodeClient(self.node.base_url, None)
        for lot, expected in (
            (self.record.lots.lot_a, "ACTIVE"),
            (self.record.lots.lot_b, "QUARANTINED"),
        ):
            status, html = public.page(lot.path)
            self.record.check(
                f"the scan page of lot {lot.value} says {expected}",
                status == 200 and f"Status: {expected}" in html,
                f"HTTP {status}",
            )
            self.step(f"{self.node.base_url}{lot.path}: HTTP {status}, says {expected}")

    # -- helpers -------------------------------------------------------------------------

    def capture(
        self, document: dict[str, Any], what: str | None, *, expect: str = "SUCCESS"
    ) -> dict[str, Any]:
        """Capture `document` through the API as the manufacturer; the finished job."""
        job = self.api["operator"].capture(document)
        if job["state"] != expect:
            raise DemoStepFailed(
                f"capture job {job['captureID']} ended {job['state']}, not {expect}: "
                f"{job['errors']}"
            )
        if what is not None:
            count = len(document["epcisBody"]["eventList"])
            self.step(
                f"POST /api/v1/capture ({what}): {count} event{'s' * (count > 1)}, "
                f"job {job['state']}"
            )
        return job

    @staticmethod
    def _trail(auditor: NodeClient) -> list[dict[str, Any]]:
        """Every entry of the access trail the auditor may read, page by page."""
        entries: list[dict[str, Any]] = []
        after: int | None = 0
        while after is not None:
            page = auditor.get("/api/v1/trail", after=after, limit=500)
            entries += page["entries"]
            after = page["next_after"]
        return entries

    def _shipment_claims(self, lot: DigitalLink) -> dict[str, Any] | None:
        """The ColdChainComplianceCredential claims of `lot` from the bridge's records, as
        `provenance credential issue --shipment` takes them; None until all are anchored."""
        try:
            return compliance_claims(shipment_summary(self.node.bridge_engine, lot))
        except ShipmentNotAnchored:
            return None

    def batch(self, lot: DigitalLink) -> dict[str, Any] | None:
        try:
            return self.api["auditor"].get(f"/api/v1/batches/{_hex(lot)}")
        except DemoStepFailed as exc:
            if "answered 404" in str(exc):
                return None
            raise

    def indexed(self, lot: DigitalLink, *, events: int) -> dict[str, Any]:
        """The lot once the read model holds at least `events` of its events."""
        return wait_until(
            lambda: (b := self.batch(lot)) and len(b["events"]) >= events and b,
            f"lot {lot.value} to be indexed",
        )

    def credentials_of(self, lot: DigitalLink, who: str) -> list[dict[str, Any]]:
        return self.api[who].get("/api/v1/credentials", subject=self.record.asset_dids[lot.value])

    @contextmanager
    def _reading_sender(self) -> Iterator[tuple[ReadingSender, int]]:
        if self.node.mqtt is None:
            yield HttpReadingSender(self.node.base_url), HTTP_BATCH
            return
        from oracle_bridge.sources.mqtt import MqttPublisher

        host, port, prefix = self.node.mqtt
        with MqttPublisher(host=host, port=port) as publisher:
            yield PublishingSender(publisher, topic_prefix=prefix), 1


def _drift(reading: Reading) -> Reading:
    """An in-range reading of the simulator's steady 5 °C given a cold room's slow swing of
    ±0.9 °C, so the lot's extremes and MKT read as a real logger's would."""
    if reading.temp_milli_c != STEADY_MILLI_C:
        return reading
    swing = round(900 * math.sin(reading.seq / 6))
    return replace(reading, temp_milli_c=STEADY_MILLI_C + swing)


def _hex(lot: DigitalLink) -> str:
    return "0x" + lot.batch_id.hex()


def _label(uri: str) -> str:
    """`lot VAX-A-001` for a lot, `SSCC 0950…` for a pallet, else the URI."""
    try:
        return f"lot {DigitalLink.parse(uri).value}"
    except InvalidIdentifier:
        if "/00/" in uri:
            return f"pallet SSCC {uri.rsplit('/', 1)[-1]}"
        return uri


def _short(did: str) -> str:
    method, _, identifier = did.rpartition(":")
    return f"{method}:{identifier[:8]}…{identifier[-4:]}"


def _calibration_claims(now: datetime) -> dict[str, Any]:
    return {
        "calibratedAt": format_instant(now - timedelta(days=14)),
        "validUntil": format_instant(now + timedelta(days=351)),
        "range": {"minMilliC": -30_000, "maxMilliC": 50_000},
        "uncertainty": {"expandedMilliC": 150, "coverageFactor": 2},
        "reference": {
            "standard": "ISO/IEC 17025:2017",
            "instrument": "PT100 reference thermometer S/N 4711",
        },
    }
