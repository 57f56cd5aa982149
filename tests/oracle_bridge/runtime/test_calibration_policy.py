"""Rules that require calibration, on a real anvil: the bridge takes a device's readings only
while its calibration certificate verifies; a revocation stops the very next reading."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from sqlalchemy import Engine

from credentials.calibration import CredentialCalibrationCheck
from credentials.identities import Signer, account_signer
from credentials.registry import CredentialRegistryClient
from credentials.service import issue_and_anchor, revoke_credential
from credentials.store import CredentialStore, create_credential_tables
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.config import LedgerSettings
from ledger_client.roles import Role
from oracle_bridge.bridge import Bridge
from oracle_bridge.device import DeviceKey
from oracle_bridge.policy import UNCALIBRATED_DEVICE
from tests.factories import ANVIL_KEYS, make_consortium
from tests.oracle_bridge.runtime.bridge_runtime_factories import (
    ORACLE,
    RULE,
    T0,
    ColdChain,
    bridge_settings,
    dead_letters,
    payload,
    signed_of,
    snapshot,
)

pytestmark = pytest.mark.integration

CALIBRATED_RULE = replace(RULE, require_calibration=True)
CALIBRATION_CLAIMS = {
    "range": {"minMilliC": -30000, "maxMilliC": 50000},
    "uncertainty": {"expandedMilliC": 150, "coverageFactor": 2},
    "reference": {"standard": "ISO/IEC 17025:2017", "instrument": "PT100 S/N 4711"},
}


@dataclass
class Lab:
    """A calibration lab with ISSUER_ROLE, trusted for calibration certificates."""

    cold_chain: ColdChain
    signer: Signer
    registry: CredentialRegistryClient

    def calibrate(self, device: DeviceKey, store: CredentialStore) -> dict:
        w3 = self.cold_chain.consortium.w3
        issued = datetime.fromtimestamp(w3.eth.get_block("latest")["timestamp"], UTC)
        return issue_and_anchor(
            registry=self.registry,
            signer=self.signer,
            credential_type=CredentialType.CALIBRATION_CERTIFICATE,
            subject_did=device.did(self.cold_chain.domain.chain_id),
            claims={
                **CALIBRATION_CLAIMS,
                "calibratedAt": _instant(issued - timedelta(days=1)),
                "validUntil": _instant(issued + timedelta(days=364)),
            },
            issuance_date=issued,
            expiration_date=issued + timedelta(days=365),
            store=store,
        )

    def check(self, store: CredentialStore) -> CredentialCalibrationCheck:
        c = self.cold_chain.consortium
        # An hour ahead: certificates dated by the test chain's clock are in force.
        verifier = CredentialVerifier(c.w3, c.deployment, clock=lambda: time.time() + 3600)
        return CredentialCalibrationCheck(store, verifier)


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def cold_chain(w3) -> ColdChain:
    return ColdChain(make_consortium(w3), ORACLE)


@pytest.fixture(scope="module")
def lab(cold_chain) -> Lab:
    c = cold_chain.consortium
    account = Account.from_key(ANVIL_KEYS[5])
    c.membership().grant_role(Role.ISSUER, account.address)
    CredentialRegistryClient(c.sender(c.governor), c.deployment).set_trusted(
        account.address, CredentialType.CALIBRATION_CERTIFICATE.value, True
    )
    return Lab(
        cold_chain=cold_chain,
        signer=account_signer(account.key, chain_id=c.deployment.chain_id),
        registry=CredentialRegistryClient(c.sender(account), c.deployment),
    )


@pytest.fixture
def engine(databases) -> Engine:
    return databases.engine()


@pytest.fixture
def store(engine) -> CredentialStore:
    """Credentials kept in the bridge's own database, as `provenance bridge run` does."""
    create_credential_tables(engine)
    return CredentialStore(engine)


def make_bridge(cold_chain: ColdChain, engine: Engine, check: CredentialCalibrationCheck) -> Bridge:
    # No registry cache: the device's entry is re-read, the calibration verified, per reading.
    return cold_chain.bridge(engine, calibration=check, cache_s=0, clock=lambda: T0 + 100_000)


def send(bridge: Bridge, device: DeviceKey, lot: bytes, seq: int):
    reading = signed_of(device, seq, domain=bridge.domain, batch_id=lot)
    return bridge.ingestor.accept(payload(reading), source="test")


def test_a_revoked_calibration_rejects_the_next_reading_and_changes_nothing_else(
    cold_chain, lab, engine, store
):
    lot = cold_chain.lot(CALIBRATED_RULE)
    device = cold_chain.device(lot)
    certificate = lab.calibrate(device, store)
    bridge = make_bridge(cold_chain, engine, lab.check(store))
    assert send(bridge, device, lot, 1).status == "accepted"
    assert send(bridge, device, lot, 2).status == "accepted"

    revoke_credential(registry=lab.registry, vc_or_hash=certificate, reason="failed recheck")
    before = snapshot(engine)
    result = send(bridge, device, lot, 3)

    assert (result.status, result.reason) == ("rejected", UNCALIBRATED_DEVICE)
    (letter,) = dead_letters(engine)
    assert (letter.reason_code, letter.reason) == ("uncalibrated_device", UNCALIBRATED_DEVICE)
    assert (letter.device, letter.seq) == (device.address, 3)
    assert snapshot(engine) == before
    # The readings taken before the revocation still go on chain.
    assert bridge.run_once().submitted.windows_anchored == 1
    bridge.close()


def test_only_rules_that_require_calibration_ask_for_it(cold_chain, lab, engine, store):
    strict, lenient = cold_chain.lot(CALIBRATED_RULE), cold_chain.lot(RULE)
    uncalibrated = cold_chain.device(strict)
    on_lenient = cold_chain.device(lenient)
    bridge = make_bridge(cold_chain, engine, lab.check(store))

    assert send(bridge, on_lenient, lenient, 1).status == "accepted"
    result = send(bridge, uncalibrated, strict, 1)
    assert (result.status, result.reason) == ("rejected", UNCALIBRATED_DEVICE)

    lab.calibrate(uncalibrated, store)
    assert send(bridge, uncalibrated, strict, 2).status == "accepted"
    bridge.close()


def test_bridge_from_settings_uses_the_calibration_check(cold_chain, lab, databases, tmp_path):
    c = cold_chain.consortium
    c.deployment.save(tmp_path / "deployment.json")
    url = databases.url()
    settings = bridge_settings(
        ledger=LedgerSettings(rpc_url=c.w3.provider.endpoint_uri, state_dir=tmp_path),
        database_url=url,
        policy_cache_s=0,
    )
    store = CredentialStore(databases.engine(url))
    create_credential_tables(store.engine)
    lot = cold_chain.lot(CALIBRATED_RULE)
    calibrated, uncalibrated = cold_chain.device(lot), cold_chain.device(lot)
    lab.calibrate(calibrated, store)

    bridge = Bridge.from_settings(settings, calibration=lab.check(store))

    assert send(bridge, calibrated, lot, 1).status == "accepted"
    assert send(bridge, uncalibrated, lot, 1).reason == UNCALIBRATED_DEVICE
    bridge.close()
