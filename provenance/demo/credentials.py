"""The credentials part of `provenance demo`: a lot with a DID of its own, credentials about
it and its logger, verified against the chain, and a FitForUse that follows the quarantine.

Runs after the cold-chain story (`provenance.demo.cold_chain`) on the same throw-away chain, and
reads that story's bridge database for the shipment it quarantined.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from credentials.assets import commission
from credentials.identities import account_signer
from credentials.issue import credential_hash
from credentials.registry import CredentialRegistryClient
from credentials.report import CheckName, Outcome, VerificationReport
from credentials.service import issue_and_anchor
from credentials.types import CredentialType, format_instant
from credentials.verify import CredentialVerifier
from ledger_client.db import make_engine
from ledger_client.deployment import Deployment
from ledger_client.identifiers import DigitalLink
from ledger_client.ledger import LedgerWriter
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.contracts import DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import BridgeError
from oracle_bridge.shipment import compliance_claims, shipment_summary
from provenance.demo.cold_chain import SHIPPED_LOT

CERTIFIED_LOT = DigitalLink.lot("09506000134352", "VAX-2026-11C")
# The demo's asset keystores live in its throw-away state directory only.
DEMO_PASSPHRASE = "demo only: throw-away asset keys"
LAB_TYPES = (
    CredentialType.CALIBRATION_CERTIFICATE,
    CredentialType.CERTIFICATE_OF_ANALYSIS,
    CredentialType.FIT_FOR_USE,
)
TICK = {Outcome.PASSED: "[green]✓[/green]", Outcome.FAILED: "[red]✗[/red]"}


def credentials_story(
    *,
    w3: Web3,
    deployment: Deployment,
    accounts: dict[str, LocalAccount],
    demo_dir: Path,
    step: Callable[[str], None],
) -> None:
    def sender(name: str) -> TransactionSender:
        return TransactionSender(w3, accounts[name])

    lab = accounts["quality"]
    MembershipClient(sender("governor"), deployment).grant_role(Role.ISSUER, lab.address)
    trust_list = CredentialRegistryClient(sender("governor"), deployment)
    for kind in LAB_TYPES:
        trust_list.set_trusted(lab.address, kind.value, True)
    step(f"quality lab holds ISSUER, trusted for {', '.join(kind.value for kind in LAB_TYPES)}")

    asset = commission(
        writer=LedgerWriter(sender("manufacturer"), deployment),
        registry=CredentialRegistryClient(sender("manufacturer"), deployment),
        link=CERTIFIED_LOT,
        keystore_dir=demo_dir / "keys",
        passphrase=DEMO_PASSPHRASE,
    )
    step(
        f"lot {CERTIFIED_LOT.value} commissioned as {_short(asset.did)}, bound on chain to "
        f"batch 0x{asset.batch_id.hex()[:12]}…, its key in an encrypted keystore"
    )

    # A logger reports only on a lot its organization writes: the manufacturer lets the carrier.
    LedgerWriter(sender("manufacturer"), deployment).authorize_writer(
        asset.batch_id, accounts["logistics"].address
    )
    logger = DeviceKey.generate()
    devices = DeviceRegistryClient(sender("logistics"), deployment)
    devices.register_device(
        logger.sign_registration(organization=devices.sender.account.address, domain=devices.domain)
    )
    devices.assign_device(logger.address, asset.batch_id)

    registry = CredentialRegistryClient(sender("quality"), deployment)
    signer = account_signer(lab.key, chain_id=deployment.chain_id)
    verifier = CredentialVerifier(w3, deployment)
    now = datetime.now(UTC)

    def issue(kind: CredentialType, subject: str, claims: dict[str, Any], **options: Any) -> dict:
        return issue_and_anchor(
            registry=registry,
            signer=signer,
            credential_type=kind,
            subject_did=subject,
            claims=claims,
            expiration_date=now + timedelta(days=365),
            **options,
        )

    calibration = issue(
        CredentialType.CALIBRATION_CERTIFICATE,
        logger.did(deployment.chain_id),
        _calibration_claims(now),
    )
    _verified(step, verifier, calibration, f"logger {_short(logger.did(deployment.chain_id))}")
    analysis = issue(
        CredentialType.CERTIFICATE_OF_ANALYSIS, asset.did, _analysis_claims(CERTIFIED_LOT)
    )
    _verified(step, verifier, analysis, f"lot {CERTIFIED_LOT.value}")
    fit = issue(
        CredentialType.FIT_FOR_USE,
        asset.did,
        {"lot": CERTIFIED_LOT.uri, "basis": ["0x" + credential_hash(analysis).hex()]},
        suspends_with_batch=asset.batch_id,
    )
    _verified(step, verifier, fit, f"lot {CERTIFIED_LOT.value}, suspended with it")

    quality = LedgerWriter(sender("quality"), deployment)
    quality.quarantine(asset.batch_id, "deviation under investigation")
    report = verifier.verify(fit)
    if report.valid:
        raise AssertionError("FitForUse stayed valid while its lot was quarantined")
    held = report.check(CheckName.NOT_SUSPENDED)
    step(
        f"lot {CERTIFIED_LOT.value} quarantined: FitForUse {_verdict(report)} — "
        f"{held.name.value} {TICK[held.outcome]} {held.detail}"
    )
    quality.release(asset.batch_id, "deviation closed")
    step(f"lot {CERTIFIED_LOT.value} released: FitForUse {_verdict(verifier.verify(fit))} again")

    bridge = make_engine(f"sqlite:///{demo_dir / 'bridge.db'}")
    try:
        compliance_claims(shipment_summary(bridge, SHIPPED_LOT))
    except BridgeError as refusal:
        step(
            f"no ColdChainComplianceCredential for lot {SHIPPED_LOT.value}, as it should be — "
            f"[yellow]{refusal}[/yellow]"
        )
    else:
        raise AssertionError(f"lot {SHIPPED_LOT.value} was certified despite its excursion")
    finally:
        bridge.dispose()


def _verified(
    step: Callable[[str], None], verifier: CredentialVerifier, vc: dict, about: str
) -> None:
    report = verifier.verify(vc)
    checks = " ".join(
        f"{check.name.value} {TICK.get(check.outcome, '?')}" for check in report.checks
    )
    step(f"{vc['type'][1]} → {about}: {_verdict(report)} ({checks})")


def _verdict(report: VerificationReport) -> str:
    return "[green]valid[/green]" if report.valid else "[red]NOT valid[/red]"


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


def _analysis_claims(lot: DigitalLink) -> dict[str, Any]:
    return {
        "lot": lot.uri,
        "tests": [
            {
                "name": "potency",
                "method": "ELISA, Ph. Eur. 2.7.1",
                "specification": "90-110 %",
                "result": 101.3,
                "unit": "%",
                "passed": True,
            },
            {
                "name": "sterility",
                "method": "Ph. Eur. 2.6.1",
                "specification": "no growth",
                "result": "no growth",
                "passed": True,
            },
        ],
        "conclusion": "conforms",
    }
