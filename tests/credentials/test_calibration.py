"""CredentialCalibrationCheck against a real anvil: a device counts as calibrated only while
one of its stored calibration certificates verifies fully; the chain going away."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from web3 import HTTPProvider

from credentials.calibration import CredentialCalibrationCheck
from credentials.cli.environment import open_store
from credentials.config import CredentialSettings
from credentials.identities import Signer, account_signer
from credentials.issue import credential_hash
from credentials.registry import CredentialRegistryClient
from credentials.report import CheckName, Outcome
from credentials.service import issue_and_anchor, revoke_credential
from credentials.store import CredentialStore
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.chain import connect
from ledger_client.config import LedgerSettings
from ledger_client.errors import ChainRejected, ChainUnavailable
from ledger_client.local_chain import free_port
from ledger_client.roles import Role
from oracle_bridge.contracts import DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from provenance.node import calibration_check
from tests.credentials.credential_factories import claims
from tests.factories import ANVIL_KEYS, Consortium, make_consortium

pytestmark = pytest.mark.integration

CALIBRATION = CredentialType.CALIBRATION_CERTIFICATE


@dataclass
class Lab:
    consortium: Consortium
    signer: Signer
    registry: CredentialRegistryClient

    def device(self) -> DeviceKey:
        """A new device registered by the operator."""
        c = self.consortium
        device = DeviceKey.generate()
        devices = DeviceRegistryClient(c.sender(c.operator), c.deployment)
        devices.register_device(
            device.sign_registration(organization=c.operator.address, domain=devices.domain)
        )
        return device

    def calibrate(
        self, device: DeviceKey, store: CredentialStore, *, kind: CredentialType = CALIBRATION
    ) -> dict:
        w3 = self.consortium.w3
        issued = datetime.fromtimestamp(w3.eth.get_block("latest")["timestamp"], UTC)
        sample = claims(kind)
        sample["validUntil"] = (issued + timedelta(days=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return issue_and_anchor(
            registry=self.registry,
            signer=self.signer,
            credential_type=kind,
            subject_did=device.did(self.consortium.deployment.chain_id),
            claims=sample,
            issuance_date=issued,
            expiration_date=issued + timedelta(days=365),
            store=store,
        )


@pytest.fixture(scope="module")
def lab(w3) -> Lab:
    c = make_consortium(w3)
    account = Account.from_key(ANVIL_KEYS[5])
    c.membership().grant_role(Role.ISSUER, account.address)
    CredentialRegistryClient(c.sender(c.governor), c.deployment).set_trusted(
        account.address, CALIBRATION.value, True
    )
    return Lab(
        consortium=c,
        signer=account_signer(account.key, chain_id=c.deployment.chain_id),
        registry=CredentialRegistryClient(c.sender(account), c.deployment),
    )


def check_of(lab: Lab, store: CredentialStore, **options) -> CredentialCalibrationCheck:
    options.setdefault("clock", lambda: time.time() + 3600)
    return CredentialCalibrationCheck(
        store, CredentialVerifier(lab.consortium.w3, lab.consortium.deployment, **options)
    )


def calibrated(check: CredentialCalibrationCheck, device: str) -> bool:
    return check([device]) == {device}


def test_a_device_is_calibrated_while_its_certificate_verifies(lab, store):
    device = lab.device()
    check = check_of(lab, store)
    assert not calibrated(check, device.address)

    vc = lab.calibrate(device, store)
    assert calibrated(check, device.address)
    assert calibrated(check, device.address.lower())

    revoke_credential(registry=lab.registry, vc_or_hash=vc, reason="failed recheck")
    assert not calibrated(check, device.address)


def test_one_valid_certificate_among_several_is_enough(lab, store):
    device = lab.device()
    revoked = lab.calibrate(device, store)
    lab.calibrate(device, store)
    revoke_credential(registry=lab.registry, vc_or_hash=revoked, reason="superseded")

    assert calibrated(check_of(lab, store), device.address)


def test_the_devices_of_a_batch_are_judged_in_one_pass(lab, store, monkeypatch):
    calibrated_devices = [lab.device() for _ in range(4)]
    for device in calibrated_devices:
        lab.calibrate(device, store)
    devices = [device.address for device in calibrated_devices] + [lab.device().address]
    check = check_of(lab, store)
    check(devices)  # warm the verifier: then only the chain status is read
    requests = counting_requests(lab.consortium.w3, monkeypatch)
    for device in devices:
        check([device])
    one_by_one = len(requests)
    requests.clear()

    assert check(devices) == set(devices[:4])
    assert (len(requests), one_by_one) == (1, 4)


def counting_requests(w3, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The JSON-RPC methods `w3` sends until the test ends (a batch counts once)."""
    sent: list[str] = []
    provider = w3.provider
    make_request, make_batch = provider.make_request, provider.make_batch_request

    def request(method, params):  # type: ignore[no-untyped-def]
        sent.append(method)
        return make_request(method, params)

    def batch(requests):  # type: ignore[no-untyped-def]
        sent.append("batch")
        return make_batch(requests)

    monkeypatch.setattr(provider, "make_request", request)
    monkeypatch.setattr(provider, "make_batch_request", batch)
    return sent


def test_certificates_of_other_devices_and_lapsed_ones_do_not_count(lab, store):
    device, other = lab.device(), lab.device()
    vc = lab.calibrate(other, store)
    assert not calibrated(check_of(lab, store), device.address)

    # The calibration's own validUntil (300 days) lapses before the credential expires.
    lapsed = datetime.fromisoformat(vc["credentialSubject"]["validUntil"]) + timedelta(days=1)
    assert calibrated(check_of(lab, store), other.address)
    assert not calibrated(check_of(lab, store, clock=lapsed.timestamp), other.address)


def test_a_suspended_certificate_does_not_count_until_lifted(lab, store):
    device = lab.device()
    vc = lab.calibrate(device, store)
    check = check_of(lab, store)
    digest = credential_hash(vc)

    lab.registry.suspend(digest, "drift under review")
    assert not calibrated(check, device.address)
    lab.registry.unsuspend(digest, "recalibrated")
    assert calibrated(check, device.address)


def test_while_the_chain_is_down_a_device_keeps_its_last_verdict(lab, store, anvil):
    device, stranger = lab.device(), lab.device()
    lab.calibrate(device, store)
    lab.calibrate(stranger, store)
    w3 = connect(anvil.rpc_url)
    check = CredentialCalibrationCheck(
        store,
        CredentialVerifier(w3, lab.consortium.deployment, clock=lambda: time.time() + 3600),
    )
    assert calibrated(check, device.address)

    w3.provider = HTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 1})
    assert calibrated(check, device.address)
    with pytest.raises(ChainUnavailable):
        calibrated(check, stranger.address)


def test_a_chain_that_refuses_the_reads_is_no_outage(lab, store):
    """A deployment record whose CredentialRegistry is another contract: the chain reverts
    the verifier's reads. That raises the refusal, not `ChainUnavailable` (the bridge would
    tell the sender to retry as if the chain were down)."""
    device = lab.device()
    lab.calibrate(device, store)
    c = lab.consortium
    wrong = replace(
        c.deployment,
        addresses={
            **c.deployment.addresses,
            "CredentialRegistry": c.deployment.address("Membership"),
        },
    )
    check = CredentialCalibrationCheck(
        store, CredentialVerifier(c.w3, wrong, clock=lambda: time.time() + 3600)
    )
    with pytest.raises(ChainRejected) as refused:
        check([device.address])
    assert not isinstance(refused.value, ChainUnavailable)


def test_the_node_check_reads_the_credential_store_the_cli_writes(lab, anvil, tmp_path):
    deployment = lab.consortium.deployment
    deployment.save(tmp_path / "deployment.json")
    ledger = LedgerSettings(rpc_url=anvil.rpc_url, state_dir=tmp_path)

    shared = calibration_check(CredentialSettings(ledger=ledger))
    own = calibration_check(
        CredentialSettings(ledger=ledger, database_url=f"sqlite:///{tmp_path / 'own.db'}")
    )

    assert str(shared.store.engine.url) == f"sqlite:///{tmp_path / 'credentials.db'}"
    assert str(open_store(CredentialSettings(ledger=ledger)).engine.url) == str(
        shared.store.engine.url
    )
    assert str(own.store.engine.url).endswith("own.db")
    device = lab.device()
    vc = lab.calibrate(device, shared.store)
    did = device.did(deployment.chain_id)
    assert shared.store.of_subject(did) == [vc]
    assert own.store.of_subject(did) == []
    assert not calibrated(own, device.address)
    # The check reads the deployment's chain; its clock is the real one, which the test
    # chain's may run ahead of, so expiry is left out here.
    report = shared.verifier.verify(vc)
    assert all(
        check.outcome is Outcome.PASSED
        for check in report.checks
        if check.name is not CheckName.NOT_EXPIRED
    ), report.to_json()
