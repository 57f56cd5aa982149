"""Chapters 1-4 of the demo's story: the consortium, the product class and its rule, the
calibrated loggers, and the two lots commissioned through capture with their DIDs and
FitForUse credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from credentials.identities import account_signer, mint_asset_did
from credentials.issue import credential_hash
from credentials.keystore import store_key
from credentials.registry import CredentialRegistryClient
from credentials.service import issue_and_anchor
from credentials.types import CredentialType, format_instant
from ledger_client.ledger import LedgerWriter
from ledger_client.membership import MembershipClient
from oracle_bridge.contracts import ComplianceRulesClient, DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from provenance.demo import events
from provenance.demo.cast import (
    CALIBRATION_LAB,
    LOGISTICS,
    MANUFACTURER,
    ORGANIZATIONS,
    PRODUCT_CLASS_NAME,
    QUALITY,
    TRUSTED_ISSUERS,
    VACCINE_GTIN,
    VACCINE_RULE,
)
from provenance.demo.story import Logger, Story, short

# The demo's asset keystores live in its state directory, for the dev chain only.
DEMO_PASSPHRASE = "demo only: throw-away asset keys of the dev chain"


def consortium(story: Story) -> None:
    story.chapter("1. A consortium of five organizations")
    governor = MembershipClient(story.sender(MANUFACTURER), story.deployment)
    trust_list = CredentialRegistryClient(story.sender(MANUFACTURER), story.deployment)
    with story.at_once():
        for org in ORGANIZATIONS:
            if governor.organization(org.address) is None:
                governor.register_organization(
                    org.address, did=org.did(story.chain_id), name=org.name
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
        story.record.check(
            f"{org.name} ({org.part}) is a member with {', '.join(r.name for r in org.roles)}",
            registered is not None and registered.active and len(roles) == len(org.roles),
        )
        story.step(
            f"{org.part}: [bold]{org.name}[/bold] {org.did(story.chain_id)} — "
            f"{', '.join(role.name for role in roles)}"
        )
    story.step(
        "trust list: " + "; ".join(f"{issuer.name} for {kind}" for issuer, kind in TRUSTED_ISSUERS)
    )


def product_class(story: Story) -> None:
    story.chapter(f'2. The product class "{PRODUCT_CLASS_NAME}" and its rule')
    product_class = story.record.lots.lot_a.product_class
    rules = ComplianceRulesClient(story.sender(QUALITY), story.deployment)
    with story.at_once():
        if (rules.class_authority(product_class) or "").lower() != QUALITY.address.lower():
            ComplianceRulesClient(
                story.sender(MANUFACTURER), story.deployment
            ).assign_class_authority(product_class, QUALITY.address)
        current = rules.rule(product_class)
        if current is None or current[0] != VACCINE_RULE:
            rules.set_rule(product_class, VACCINE_RULE)
    rule, version = rules.rule(product_class) or (None, 0)
    story.record.check(f'the rule of "{PRODUCT_CLASS_NAME}" is on chain', rule == VACCINE_RULE)
    story.step(
        f"GTIN {VACCINE_GTIN}: {QUALITY.name} is the class authority; rule v{version}: "
        "2–8 °C, at most 15 min out of range, hard limits −5/25 °C, no silence over 1 h, "
        "calibrated loggers only"
    )


def loggers(story: Story) -> None:
    story.chapter("3. Temperature loggers and their calibration")
    lots = story.record.lots
    story.record.loggers = [
        Logger("logger 1", DeviceKey.generate(), lots.lot_a, calibrated=True),
        Logger("logger 2", DeviceKey.generate(), lots.lot_b, calibrated=True),
        Logger("logger 3", DeviceKey.generate(), lots.lot_a, calibrated=False),
    ]
    devices = DeviceRegistryClient(story.sender(LOGISTICS), story.deployment)
    registry = CredentialRegistryClient(story.sender(CALIBRATION_LAB), story.deployment)
    lab = account_signer(CALIBRATION_LAB.key, chain_id=story.chain_id)
    now = datetime.now(UTC)
    with story.at_once():
        for logger in story.record.loggers:
            # The logger signs its own registration: no one enrols a key it does not hold.
            devices.register_device(
                logger.key.sign_registration(organization=LOGISTICS.address, domain=devices.domain)
            )
            did = logger.key.did(story.chain_id)
            if not logger.calibrated:
                story.step(f"{logger.name} {did}: registered by {LOGISTICS.name}, never calibrated")
                continue
            vc = issue_and_anchor(
                registry=registry,
                signer=lab,
                credential_type=CredentialType.CALIBRATION_CERTIFICATE,
                subject_did=did,
                claims=_calibration_claims(now),
                expiration_date=now + timedelta(days=365),
                store=story.node.credential_store,
            )
            story.step(
                f"{logger.name} {did}: registered by {LOGISTICS.name}, "
                f"CalibrationCertificate 0x{credential_hash(vc).hex()[:12]}… from "
                f"{CALIBRATION_LAB.name}"
            )


def lots(story: Story) -> None:
    story.chapter("4. Two lots commissioned, each with a DID and a FitForUse credential")
    lots = story.record.lots
    pair = [lots.lot_a, lots.lot_b]
    story.capture(
        events.commissioning(pair, datetime.now(UTC) - timedelta(hours=4)), "commissioning"
    )
    manufacturer = LedgerWriter(story.sender(MANUFACTURER), story.deployment)
    binder = CredentialRegistryClient(story.sender(MANUFACTURER), story.deployment)
    quality = CredentialRegistryClient(story.sender(QUALITY), story.deployment)
    signer = account_signer(QUALITY.key, chain_id=story.chain_id)
    devices = DeviceRegistryClient(story.sender(LOGISTICS), story.deployment)
    keys = story.node.state_dir / "demo" / "asset-keys"
    with story.at_once():
        for lot in pair:
            asset = mint_asset_did()
            store_key(
                keys / f"{asset.did.removeprefix('did:key:')}.json",
                asset.private_key,
                passphrase=DEMO_PASSPHRASE,
            )
            binder.bind_subject(asset.did, lot.batch_id)
            story.record.asset_dids[lot.value] = asset.did
            fit = issue_and_anchor(
                registry=quality,
                signer=signer,
                credential_type=CredentialType.FIT_FOR_USE,
                subject_did=asset.did,
                claims={"lot": lot.uri},
                expiration_date=datetime.now(UTC) + timedelta(days=365),
                store=story.node.credential_store,
            )
            # A logger reports only on a lot its organization may write.
            manufacturer.authorize_writer(lot.batch_id, LOGISTICS.address)
            story.step(
                f"lot {lot.value}: asset DID {short(asset.did)} bound on chain; FitForUse "
                f"0x{credential_hash(fit).hex()[:12]}… from {QUALITY.name}"
            )
        for logger in story.record.loggers:
            devices.assign_device(logger.key.address, logger.lot.batch_id)
            story.step(f"{logger.name} travels with lot {logger.lot.value}")


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
