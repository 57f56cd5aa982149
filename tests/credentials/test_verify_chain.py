"""Full verification against a real anvil: each type issued, anchored and verified; each way
a credential can fail names the check that failed; warm verification sees status changes."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from credentials.hashes import organization_entity_id
from credentials.identities import Signer, account_signer, mint_asset_did
from credentials.issue import credential_hash, issue
from credentials.registry import CredentialRegistryClient
from credentials.report import CheckName, Outcome, VerificationReport
from credentials.service import issue_and_anchor, revoke_credential
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.chain import rpc
from ledger_client.errors import ContractRevert
from ledger_client.identifiers import DigitalLink
from ledger_client.roles import Role
from oracle_bridge.contracts import DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from tests.credentials.credential_factories import claims
from tests.factories import ANVIL_KEYS, Consortium, make_consortium

pytestmark = pytest.mark.integration

GTIN = "09506000134352"
LAB_KEY = ANVIL_KEYS[5]
# Verification happens "now" by a clock an hour ahead of the wall clock, so credentials
# issued at the chain's time (which the session's tests may push a few seconds ahead)
# are already in force.
AHEAD_S = 3600
LOT_TYPES = (
    CredentialType.CERTIFICATE_OF_ANALYSIS,
    CredentialType.FIT_FOR_USE,
    CredentialType.COLD_CHAIN_COMPLIANCE,
)


def clock_ahead() -> float:
    return time.time() + AHEAD_S


class RecordingProvider(HTTPProvider):
    """Records every HTTP request it sends: a method name, or a JSON-RPC batch's list."""

    def __init__(self, endpoint_uri: str) -> None:
        super().__init__(endpoint_uri)
        self.requests: list[Any] = []

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self.requests.append(method)
        return super().make_request(method, params)

    def make_batch_request(self, requests: Any) -> Any:
        self.requests.append([method for method, _ in requests])
        return super().make_batch_request(requests)


@dataclass
class Ledger:
    """A consortium where a lab issues calibration certificates for a registered device and
    quality issues the lot and person credentials, all on the trust list; a lot whose asset
    DID and a person whose DID are bound."""

    consortium: Consortium
    lab_account: LocalAccount
    lab: Signer
    quality: Signer
    lot: DigitalLink
    asset: str
    person: str
    device: str

    @property
    def w3(self) -> Web3:
        return self.consortium.w3

    def registry(self, account: LocalAccount) -> CredentialRegistryClient:
        return CredentialRegistryClient(self.consortium.sender(account), self.consortium.deployment)

    def account_of(self, signer: Signer) -> LocalAccount:
        if signer.did == self.lab.did:
            return self.lab_account
        if signer.did == self.quality.did:
            return self.consortium.quality
        raise AssertionError(f"no account for {signer.did}")

    def verifier(self, w3: Web3 | None = None, **options: Any) -> CredentialVerifier:
        options.setdefault("clock", clock_ahead)
        return CredentialVerifier(w3 or self.w3, self.consortium.deployment, **options)

    def chain_time(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def next_block_one_second_later(self) -> None:
        """Give the next block a second of its own, at most one ahead of the wall clock."""
        latest = self.chain_time()
        rpc(self.w3, "evm_setNextBlockTimestamp", [max(latest + 1, int(time.time()))])

    def next_block_in_this_second(self) -> None:
        """Give the next block the latest block's timestamp (anvil allows it)."""
        rpc(self.w3, "evm_setNextBlockTimestamp", [self.chain_time()])

    def leave_this_second(self) -> None:
        """Mine a block a second later: what happened up to now is settled history."""
        self.next_block_one_second_later()
        rpc(self.w3, "evm_mine", [])

    def subject(self, kind: CredentialType) -> str:
        if kind is CredentialType.CALIBRATION_CERTIFICATE:
            return self.device
        if kind is CredentialType.OPERATOR_QUALIFICATION:
            return self.person
        return self.asset

    def issuer(self, kind: CredentialType) -> Signer:
        return self.lab if kind is CredentialType.CALIBRATION_CERTIFICATE else self.quality

    def claims(self, kind: CredentialType) -> dict[str, Any]:
        sample = claims(kind)
        if "lot" in sample:
            sample["lot"] = self.lot.uri
        return sample

    def issue(
        self,
        kind: CredentialType,
        *,
        signer: Signer | None = None,
        account: LocalAccount | None = None,
        subject: str | None = None,
        issued: datetime | None = None,
        expires: datetime | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """A credential of `kind` issued now (chain time), anchored by its issuer."""
        signer = signer or self.issuer(kind)
        issued = issued or datetime.fromtimestamp(self.chain_time(), UTC)
        return issue_and_anchor(
            registry=self.registry(account or self.account_of(signer)),
            signer=signer,
            credential_type=kind,
            subject_did=subject or self.subject(kind),
            claims=self.claims(kind),
            issuance_date=issued,
            expiration_date=expires or issued + timedelta(days=365),
            **options,
        )

    def sign_fit_for_use(self, *, issued_at: int) -> dict[str, Any]:
        """A FitForUse about the lot, signed by quality at `issued_at` (chain time) and
        left unanchored: what the chain then says about it is the test's to arrange."""
        return issue(
            credential_type=CredentialType.FIT_FOR_USE,
            subject_did=self.asset,
            claims=self.claims(CredentialType.FIT_FOR_USE),
            signer=self.quality,
            issuance_date=datetime.fromtimestamp(issued_at, UTC),
        )

    def new_issuer(self, *trusted_for: CredentialType) -> tuple[LocalAccount, Signer]:
        """A funded account of its own with ISSUER_ROLE, trusted for `trusted_for`."""
        account = Account.create()
        rpc(self.w3, "anvil_setBalance", [account.address, hex(10**20)])
        self.consortium.membership().grant_role(Role.ISSUER, account.address)
        governor = self.registry(self.consortium.governor)
        for kind in trusted_for:
            governor.set_trusted(account.address, kind.value, True)
        return account, account_signer(account.key, chain_id=self.consortium.deployment.chain_id)

    def new_lot(self, name: str) -> tuple[DigitalLink, str]:
        """A new lot with its asset DID bound to it."""
        lot = DigitalLink.lot(GTIN, f"{name}-{time.monotonic_ns() % 10**9}")
        self.consortium.writer().create_batch(lot.uri)
        asset = mint_asset_did().did
        self.registry(self.consortium.operator).bind_subject(asset, lot.batch_id)
        return lot, asset


@pytest.fixture(scope="module")
def ledger(w3) -> Ledger:
    c = make_consortium(w3)
    chain_id = c.deployment.chain_id
    lab_account = Account.from_key(LAB_KEY)
    governor = c.membership()
    governor.grant_role(Role.ISSUER, lab_account.address)
    governor.grant_role(Role.ISSUER, c.quality.address)
    quality = account_signer(c.quality.key, chain_id=chain_id)
    governor.register_organization(c.quality.address, did=quality.did, name="Quality Lab Ltd")
    trust = CredentialRegistryClient(c.sender(c.governor), c.deployment)
    trust.set_trusted(lab_account.address, CredentialType.CALIBRATION_CERTIFICATE.value, True)
    for kind in CredentialType:
        if kind is not CredentialType.CALIBRATION_CERTIFICATE:
            trust.set_trusted(c.quality.address, kind.value, True)

    lot = DigitalLink.lot(GTIN, f"VERIFY-{time.monotonic_ns() % 10**9}")
    c.writer().create_batch(lot.uri)
    operator = CredentialRegistryClient(c.sender(c.operator), c.deployment)
    asset = mint_asset_did().did
    operator.bind_subject(asset, lot.batch_id)
    person = mint_asset_did().did
    # An organization binds only its own people's DIDs.
    governor.grant_role(Role.OPERATOR, c.quality.address)
    CredentialRegistryClient(c.sender(c.quality), c.deployment).bind_subject(
        person, organization_entity_id(c.quality.address)
    )
    device = DeviceKey.generate()
    device_did = device.did(chain_id)
    devices = DeviceRegistryClient(c.sender(c.operator), c.deployment)
    devices.register_device(
        device.sign_registration(organization=c.operator.address, domain=devices.domain)
    )
    return Ledger(
        consortium=c,
        lab_account=lab_account,
        lab=account_signer(LAB_KEY, chain_id=chain_id),
        quality=quality,
        lot=lot,
        asset=asset,
        person=person,
        device=device_did,
    )


def outcomes(report: VerificationReport) -> dict[str, str]:
    return {check.name.value: check.outcome.value for check in report.checks}


def assert_only_failed(report: VerificationReport, *failed: CheckName) -> None:
    """`report` is invalid, and exactly the checks `failed` failed."""
    assert not report.valid
    expected = {name.value: ("failed" if name in failed else "passed") for name in CheckName}
    assert outcomes(report) == expected, report.to_json()


@pytest.mark.parametrize("kind", list(CredentialType), ids=lambda kind: kind.value)
def test_each_type_issued_and_anchored_verifies_fully(ledger, kind):
    vc = ledger.issue(kind)

    report = ledger.verifier().verify(vc)

    assert report.valid, report.to_json()
    assert all(check.outcome is Outcome.PASSED for check in report.checks)
    issuer = ledger.issuer(kind)
    details = {check.name: check.detail for check in report.checks}
    assert issuer.did.rsplit(":", 1)[1] in details[CheckName.ANCHORED]
    assert "held ISSUER_ROLE" in details[CheckName.ISSUER_TRUSTED]
    assert f"trust list for {kind.value}" in details[CheckName.ISSUER_TRUSTED]
    if kind in LOT_TYPES:
        assert ledger.lot.uri in details[CheckName.SUBJECT_BOUND]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda vc: vc["credentialSubject"]["range"].update(minMilliC=-29000), id="claim"
        ),
        pytest.param(lambda vc: vc.update(issuanceDate="2026-01-02T00:00:00Z"), id="issuanceDate"),
        pytest.param(
            lambda vc: vc.update(id="urn:uuid:00000000-0000-4000-8000-000000000000"), id="id"
        ),
        pytest.param(lambda vc: vc["credentialSubject"].update(id=vc["issuer"]), id="subject"),
    ],
)
def test_a_changed_field_fails_the_proof(ledger, change):
    vc = ledger.issue(CredentialType.CALIBRATION_CERTIFICATE)
    tampered = copy.deepcopy(vc)
    change(tampered)

    report = ledger.verifier().verify(tampered)

    assert not report.valid
    assert report.check(CheckName.PROOF).outcome is Outcome.FAILED
    assert "proof does not verify" in report.check(CheckName.PROOF).detail
    # The anchored hash is of the credential as issued, so the changed one is not anchored.
    assert report.check(CheckName.ANCHORED).outcome is Outcome.FAILED


def test_a_proof_from_another_key_fails_the_proof(ledger):
    vc = ledger.issue(CredentialType.CALIBRATION_CERTIFICATE)
    _, impostor = ledger.new_issuer()
    forged = issue(
        credential_type=CredentialType.CALIBRATION_CERTIFICATE,
        subject_did=ledger.device,
        claims=ledger.claims(CredentialType.CALIBRATION_CERTIFICATE),
        signer=impostor,
        issuance_date=datetime.now(UTC),
    )
    swapped = copy.deepcopy(vc)
    swapped["proof"] = {**forged["proof"], "verificationMethod": vc["proof"]["verificationMethod"]}

    report = ledger.verifier().verify(swapped)

    assert not report.valid
    assert report.check(CheckName.PROOF).outcome is Outcome.FAILED
    assert "proof does not verify" in report.check(CheckName.PROOF).detail


def test_an_issuer_taken_off_the_trust_list_cannot_anchor_a_backdated_credential(ledger):
    # Dated while it was trusted, signed and anchored after its removal: the registry refuses.
    account, signer = ledger.new_issuer(CredentialType.FIT_FOR_USE)
    trusted_then = datetime.fromtimestamp(ledger.chain_time(), UTC)
    ledger.next_block_one_second_later()
    ledger.registry(ledger.consortium.governor).set_trusted(
        account.address, CredentialType.FIT_FOR_USE.value, False
    )

    with pytest.raises(ContractRevert) as info:
        ledger.issue(
            CredentialType.FIT_FOR_USE, signer=signer, account=account, issued=trusted_then
        )

    assert info.value.error == "CredentialRegistryIssuerNotTrusted"
    assert info.value.error_args["issuer"] == account.address


def test_a_credential_anchored_long_after_its_issuance_date_fails_anchored(ledger):
    issued = datetime.fromtimestamp(ledger.chain_time(), UTC) - timedelta(hours=2)
    vc = ledger.issue(CredentialType.CERTIFICATE_OF_ANALYSIS, issued=issued)

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.ANCHORED)
    assert "a backdated credential" in report.check(CheckName.ANCHORED).detail


def test_a_credential_anchored_before_its_issuance_date_beyond_clock_skew_fails_anchored(ledger):
    now = datetime.fromtimestamp(ledger.chain_time(), UTC)
    ahead = ledger.issue(CredentialType.FIT_FOR_USE, issued=now + timedelta(minutes=10))
    skewed = ledger.issue(CredentialType.FIT_FOR_USE, issued=now + timedelta(minutes=4))

    verifier = ledger.verifier()
    report = verifier.verify(ahead)

    assert_only_failed(report, CheckName.ANCHORED)
    assert "allowed for clock skew" in report.check(CheckName.ANCHORED).detail
    assert verifier.verify(skewed).valid


def test_trust_is_judged_when_anchored_not_at_the_issuance_date_written(ledger):
    account, signer = ledger.new_issuer()
    issued = datetime.fromtimestamp(ledger.chain_time(), UTC)
    ledger.next_block_one_second_later()
    governor = ledger.registry(ledger.consortium.governor)
    governor.set_trusted(account.address, CredentialType.FIT_FOR_USE.value, True)
    vc = ledger.issue(CredentialType.FIT_FOR_USE, signer=signer, account=account, issued=issued)

    report = ledger.verifier().verify(vc)

    assert report.valid, report.to_json()
    assert "when it was anchored" in report.check(CheckName.ISSUER_TRUSTED).detail


def test_an_issuer_taken_off_the_trust_list_in_the_anchoring_second_fails_issuer_trusted(ledger):
    account, signer = ledger.new_issuer(CredentialType.FIT_FOR_USE)
    vc = ledger.issue(CredentialType.FIT_FOR_USE, signer=signer, account=account)
    ledger.next_block_in_this_second()
    ledger.registry(ledger.consortium.governor).set_trusted(
        account.address, CredentialType.FIT_FOR_USE.value, False
    )

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.ISSUER_TRUSTED)
    assert "not on the trust list for FitForUse" in report.check(CheckName.ISSUER_TRUSTED).detail


def test_a_revoked_credential_fails_not_revoked(ledger):
    vc = ledger.issue(CredentialType.CERTIFICATE_OF_ANALYSIS)
    revoke_credential(
        registry=ledger.registry(ledger.consortium.quality), vc_or_hash=vc, reason="assay redone"
    )

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.NOT_REVOKED)
    assert "REVOKED" in report.check(CheckName.NOT_REVOKED).detail


def test_a_suspended_credential_fails_not_suspended(ledger):
    vc = ledger.issue(CredentialType.CALIBRATION_CERTIFICATE)
    ledger.registry(ledger.lab_account).suspend(credential_hash(vc), "drift under review")

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.NOT_SUSPENDED)
    assert report.check(CheckName.NOT_SUSPENDED).detail == "suspended by its issuer"


def test_an_expired_credential_fails_not_expired(ledger):
    issued = datetime.fromtimestamp(ledger.chain_time(), UTC)
    vc = ledger.issue(
        CredentialType.FIT_FOR_USE, issued=issued, expires=issued + timedelta(minutes=10)
    )
    later = (issued + timedelta(minutes=20)).timestamp()

    report = ledger.verifier(clock=lambda: later).verify(vc)

    assert_only_failed(report, CheckName.NOT_EXPIRED)
    assert "expired at" in report.check(CheckName.NOT_EXPIRED).detail


def test_an_issuer_whose_role_was_revoked_in_the_anchoring_second_fails_issuer_trusted(ledger):
    account, signer = ledger.new_issuer(CredentialType.FIT_FOR_USE)
    vc = ledger.issue(CredentialType.FIT_FOR_USE, signer=signer, account=account)
    ledger.next_block_in_this_second()
    ledger.consortium.membership().revoke_role(Role.ISSUER, account.address)

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.ISSUER_TRUSTED)
    assert "did not hold ISSUER_ROLE" in report.check(CheckName.ISSUER_TRUSTED).detail
    assert "revoked at" in report.check(CheckName.ISSUER_TRUSTED).detail


def test_an_issuer_whose_role_was_revoked_after_anchoring_stays_trusted_for_it(ledger):
    # Trust was judged when it was anchored; to withdraw the credential a governor revokes it.
    account, signer = ledger.new_issuer(CredentialType.FIT_FOR_USE)
    vc = ledger.issue(CredentialType.FIT_FOR_USE, signer=signer, account=account)
    ledger.next_block_one_second_later()
    ledger.consortium.membership().revoke_role(Role.ISSUER, account.address)

    assert ledger.verifier().verify(vc).valid


def test_an_issuer_whose_organization_was_deactivated_fails_issuer_trusted(ledger):
    account, signer = ledger.new_issuer(CredentialType.FIT_FOR_USE)
    membership = ledger.consortium.membership()
    membership.register_organization(account.address, did=signer.did, name="Short-lived QA")
    vc = ledger.issue(CredentialType.FIT_FOR_USE, signer=signer, account=account)
    ledger.next_block_in_this_second()
    membership.set_organization_active(account.address, False)

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.ISSUER_TRUSTED)
    assert "deactivated" in report.check(CheckName.ISSUER_TRUSTED).detail


def test_a_governor_revokes_or_suspends_a_credential_its_pulled_issuer_cannot(ledger):
    account, signer = ledger.new_issuer(CredentialType.FIT_FOR_USE)
    revoked, suspended = (
        ledger.issue(CredentialType.FIT_FOR_USE, signer=signer, account=account) for _ in range(2)
    )
    ledger.next_block_one_second_later()
    ledger.consortium.membership().revoke_role(Role.ISSUER, account.address)
    with pytest.raises(ContractRevert, match="MembershipUnauthorizedAccount"):
        revoke_credential(registry=ledger.registry(account), vc_or_hash=revoked, reason="leak")
    governor = ledger.registry(ledger.consortium.governor)

    governor.governor_revoke(credential_hash(revoked), "issuer key compromised")
    governor.governor_suspend(credential_hash(suspended), "issuer under investigation")
    reports = ledger.verifier().verify_many([revoked, suspended])

    assert_only_failed(reports[0], CheckName.NOT_REVOKED)
    assert_only_failed(reports[1], CheckName.NOT_SUSPENDED)
    assert reports[1].check(CheckName.NOT_SUSPENDED).detail == "suspended by a governor"


@pytest.mark.parametrize(
    "kind",
    [CredentialType.FIT_FOR_USE, CredentialType.OPERATOR_QUALIFICATION],
    ids=lambda kind: kind.value,
)
def test_a_subject_not_on_the_ledger_fails_subject_bound(ledger, kind):
    vc = ledger.issue(kind, subject=mint_asset_did().did)

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.SUBJECT_BOUND)
    assert "bound to no ledger entity" in report.check(CheckName.SUBJECT_BOUND).detail


def test_an_unregistered_device_fails_subject_bound(ledger):
    stranger = DeviceKey.generate().did(ledger.consortium.deployment.chain_id)
    vc = ledger.issue(CredentialType.CALIBRATION_CERTIFICATE, subject=stranger)

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.SUBJECT_BOUND)
    assert "neither a registered device" in report.check(CheckName.SUBJECT_BOUND).detail


def test_a_lot_credential_about_another_lots_asset_fails_subject_bound(ledger):
    other_lot, other_asset = ledger.new_lot("OTHER")
    vc = ledger.issue(CredentialType.CERTIFICATE_OF_ANALYSIS, subject=other_asset)

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.SUBJECT_BOUND)
    detail = report.check(CheckName.SUBJECT_BOUND).detail
    assert other_lot.batch_id.hex() in detail and ledger.lot.uri in detail


def test_a_credential_never_anchored_fails_anchored(ledger):
    vc = ledger.sign_fit_for_use(issued_at=ledger.chain_time() - 1)

    report = ledger.verifier().verify(vc)

    assert not report.valid
    assert report.check(CheckName.ANCHORED).outcome is Outcome.FAILED
    assert "never anchored" in report.check(CheckName.ANCHORED).detail
    for name in (CheckName.PROOF, CheckName.SCHEMA):
        assert report.check(name).outcome is Outcome.PASSED
    # Trust is judged at anchoring: with no anchor it cannot be shown.
    assert report.check(CheckName.ISSUER_TRUSTED).outcome is Outcome.FAILED


def test_a_credential_anchored_about_another_subject_fails_anchored(ledger):
    vc = ledger.sign_fit_for_use(issued_at=ledger.chain_time())
    ledger.registry(ledger.consortium.quality).anchor(
        credential_hash(vc), type_name=CredentialType.FIT_FOR_USE.value, subject_did=ledger.person
    )

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.ANCHORED)
    assert "not that of its subject" in report.check(CheckName.ANCHORED).detail


def test_a_quarantine_suspends_a_fit_for_use_until_release(ledger):
    lot, asset = ledger.new_lot("QUARANTINE")
    kind = CredentialType.FIT_FOR_USE
    vc = issue_and_anchor(
        registry=ledger.registry(ledger.consortium.quality),
        signer=ledger.quality,
        credential_type=kind,
        subject_did=asset,
        claims={"lot": lot.uri},
        issuance_date=datetime.fromtimestamp(ledger.chain_time(), UTC),
        suspends_with_batch=lot.batch_id,
    )
    verifier = ledger.verifier()
    assert verifier.verify(vc).valid
    quality = ledger.consortium.writer(ledger.consortium.quality)

    quality.quarantine(lot.batch_id, "temperature excursion")
    quarantined = verifier.verify(vc)
    quality.release(lot.batch_id, "inspected, fit for use")
    released = verifier.verify(vc)

    assert_only_failed(quarantined, CheckName.NOT_SUSPENDED)
    assert quarantined.check(CheckName.NOT_SUSPENDED).detail == (
        f"suspended while its lot 0x{lot.batch_id.hex()} is QUARANTINED"
    )
    assert released.valid, released.to_json()


def test_a_fit_for_use_anchored_without_its_lot_fails_anchored_even_while_quarantined(ledger):
    lot, asset = ledger.new_lot("UNTIED")
    vc = issue(
        credential_type=CredentialType.FIT_FOR_USE,
        subject_did=asset,
        claims={"lot": lot.uri},
        signer=ledger.quality,
        issuance_date=datetime.fromtimestamp(ledger.chain_time(), UTC),
    )
    ledger.registry(ledger.consortium.quality).anchor(
        credential_hash(vc), type_name=CredentialType.FIT_FOR_USE.value, subject_did=asset
    )
    ledger.consortium.writer(ledger.consortium.quality).quarantine(lot.batch_id, "excursion")

    report = ledger.verifier().verify(vc)

    assert_only_failed(report, CheckName.ANCHORED)
    assert "tied to no batch, not to its lot" in report.check(CheckName.ANCHORED).detail


def test_issuing_a_fit_for_use_ties_it_to_its_lot(ledger):
    lot, asset = ledger.new_lot("TIED")
    vc = issue_and_anchor(
        registry=ledger.registry(ledger.consortium.quality),
        signer=ledger.quality,
        credential_type=CredentialType.FIT_FOR_USE,
        subject_did=asset,
        claims={"lot": lot.uri},
    )

    anchored = ledger.registry(ledger.consortium.quality).credential(credential_hash(vc))

    assert anchored is not None and anchored.suspends_with_batch == lot.batch_id


def test_warm_verification_sees_revocation_and_suspension_in_one_call(ledger):
    vcs = [ledger.issue(kind) for kind in CredentialType]
    ledger.leave_this_second()  # so the issuers' trust at issuance is settled, and cached
    provider = RecordingProvider(ledger.w3.provider.endpoint_uri)
    verifier = ledger.verifier(Web3(provider))

    cold = verifier.verify_many(vcs)
    cold_requests = list(provider.requests)
    provider.requests.clear()
    warm = verifier.verify_many(vcs)
    warm_requests = list(provider.requests)

    assert all(report.valid for report in cold + warm)
    # Cold: one batch of contract reads, then one of membership logs.
    assert len(cold_requests) == 2, cold_requests
    assert warm_requests == ["eth_call"]

    calibration, analysis = vcs[0], vcs[1]
    ledger.registry(ledger.lab_account).suspend(credential_hash(calibration), "drift")
    revoke_credential(
        registry=ledger.registry(ledger.consortium.quality),
        vc_or_hash="0x" + credential_hash(analysis).hex(),
        reason="wrong sample",
    )
    provider.requests.clear()
    after = verifier.verify_many(vcs)

    assert_only_failed(after[0], CheckName.NOT_SUSPENDED)
    assert_only_failed(after[1], CheckName.NOT_REVOKED)
    assert all(report.valid for report in after[2:])
    # The statuses in one call; what the failing ones are about in one more batch.
    assert provider.requests[0] == "eth_call" and len(provider.requests) == 2

    ledger.registry(ledger.lab_account).unsuspend(credential_hash(calibration), "recalibrated")
    provider.requests.clear()
    assert verifier.verify(calibration).valid
    assert provider.requests == ["eth_call"]


def test_a_proof_engine_timeout_is_not_kept_as_a_verdict(ledger, didkit_times_out_once):
    vc = ledger.issue(CredentialType.CALIBRATION_CERTIFICATE)
    verifier = ledger.verifier()
    didkit_times_out_once.arm()

    timed_out = verifier.verify(vc)
    didkit_times_out_once.wait()
    answered = verifier.verify(vc)

    assert not timed_out.valid
    assert timed_out.check(CheckName.PROOF).outcome is Outcome.NOT_CHECKED
    assert "gave no verdict" in timed_out.check(CheckName.PROOF).detail
    assert answered.valid, answered.to_json()


def test_verify_many_keeps_order_and_reports_malformed_input(ledger):
    vc = ledger.issue(CredentialType.FIT_FOR_USE)
    reports = ledger.verifier().verify_many([vc, "not a credential", {"id": float("nan")}, vc])

    assert [report.valid for report in reports] == [True, False, False, True]
    for report in reports[1:3]:
        assert all(check.outcome is Outcome.FAILED for check in report.checks)
        assert not any(check.outcome is Outcome.NOT_CHECKED for check in report.checks)


class NoLogTimesProvider(RecordingProvider):
    """A node whose logs carry no blockTimestamp (older geth, Besu)."""

    def make_batch_request(self, requests: Any) -> Any:
        responses = super().make_batch_request(requests)
        for (method, _), response in zip(requests, responses, strict=True):
            if method == "eth_getLogs":
                for entry in response["result"]:
                    entry.pop("blockTimestamp", None)
        return responses


def test_membership_history_read_in_small_chunks_without_log_times(ledger):
    account, signer = ledger.new_issuer(CredentialType.FIT_FOR_USE)
    vcs = [ledger.issue(CredentialType.FIT_FOR_USE, signer=signer, account=account)]
    other_account, other_signer = ledger.new_issuer(CredentialType.FIT_FOR_USE)
    vcs.append(ledger.issue(CredentialType.FIT_FOR_USE, signer=other_signer, account=other_account))
    ledger.next_block_in_this_second()
    ledger.consortium.membership().revoke_role(Role.ISSUER, other_account.address)
    provider = NoLogTimesProvider(ledger.w3.provider.endpoint_uri)
    verifier = ledger.verifier(Web3(provider), log_chunk_blocks=7)

    fine, revoked_then = verifier.verify_many(vcs)

    assert fine.valid, fine.to_json()
    # The grant's time comes from the logs, so they were read.
    assert "(granted at " in fine.check(CheckName.ISSUER_TRUSTED).detail
    assert_only_failed(revoked_then, CheckName.ISSUER_TRUSTED)
    assert "revoked at" in revoked_then.check(CheckName.ISSUER_TRUSTED).detail
    batches = [request for request in provider.requests if isinstance(request, list)]
    log_batches = [batch for batch in batches if "eth_getLogs" in batch]
    assert len(log_batches) == 1 and len(log_batches[0]) > 1  # every chunk in one request
    assert any(set(batch) == {"eth_getBlockByNumber"} for batch in batches)


def test_warm_verification_follows_the_clock_across_expiry(ledger):
    issued = datetime.fromtimestamp(ledger.chain_time(), UTC)
    expires = issued + timedelta(minutes=10)
    vc = ledger.issue(CredentialType.COLD_CHAIN_COMPLIANCE, issued=issued, expires=expires)
    now = [issued.timestamp() + 60]
    verifier = ledger.verifier(clock=lambda: now[0])
    assert verifier.verify(vc).valid

    now[0] = expires.timestamp() - 1
    assert verifier.verify(vc).valid
    now[0] = expires.timestamp()
    assert_only_failed(verifier.verify(vc), CheckName.NOT_EXPIRED)
    now[0] = issued.timestamp() - 1
    report = verifier.verify(vc)
    assert_only_failed(report, CheckName.NOT_EXPIRED)
    assert "not valid before" in report.check(CheckName.NOT_EXPIRED).detail
