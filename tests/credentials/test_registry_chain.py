"""CredentialRegistryClient against a real anvil: anchoring, status, refusals, trust history."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from credentials.hashes import organization_entity_id, subject_hash, type_hash
from credentials.registry import (
    CredentialRegistryClient,
    CredentialRegistryView,
    CredentialStatus,
    SubjectBinding,
)
from ledger_client.chain import rpc
from ledger_client.errors import ContractRevert
from ledger_client.reads import ReadBatch
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from tests.factories import ANVIL_KEYS, Consortium

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-42"
CALIBRATION = "CalibrationCertificate"
FIT_FOR_USE = "FitForUseCertificate"
# The trust-history test's own types: the fixture trusts both issuers for the two above.
QUALIFICATION = "OperatorQualification"
COMPLIANCE = "ColdChainCompliance"
LOT_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
PERSON_DID = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"


def vc(n: int) -> bytes:
    """The hash of a stand-in signed VC."""
    return keccak(text=f"urn:uuid:credential-{n}")


class RecordingProvider(HTTPProvider):
    """Records the JSON-RPC method of every request it sends."""

    def __init__(self, endpoint_uri: str) -> None:
        super().__init__(endpoint_uri)
        self.methods: list[str] = []

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self.methods.append(method)
        return super().make_request(method, params)


@dataclass
class Registry:
    """The consortium with an issuer (ISSUER), a second issuer (quality, also ISSUER), both
    trusted for CALIBRATION and FIT_FOR_USE, and a lot."""

    consortium: Consortium
    issuer_account: LocalAccount
    lot: bytes

    def client(self, account: LocalAccount) -> CredentialRegistryClient:
        return CredentialRegistryClient(self.consortium.sender(account), self.consortium.deployment)

    @property
    def issuer(self) -> CredentialRegistryClient:
        return self.client(self.issuer_account)

    @property
    def other_issuer(self) -> CredentialRegistryClient:
        return self.client(self.consortium.quality)

    @property
    def outsider(self) -> CredentialRegistryClient:
        return self.client(self.consortium.outsider)

    def block_time(self, block_number: int) -> int:
        return self.consortium.w3.eth.get_block(block_number)["timestamp"]

    def next_block_one_second_later(self) -> None:
        """Give the next block a second of its own, at most one ahead of the wall clock, so
        the session's chain clock stays where the other tests expect it."""
        w3 = self.consortium.w3
        latest = w3.eth.get_block("latest")["timestamp"]
        rpc(w3, "evm_setNextBlockTimestamp", [max(latest + 1, int(time.time()))])


@pytest.fixture
def registry(consortium: Consortium) -> Registry:
    issuer = Account.from_key(ANVIL_KEYS[4])
    governor = consortium.membership()
    governor.grant_role(Role.ISSUER, issuer.address)
    governor.grant_role(Role.ISSUER, consortium.quality.address)
    trust = CredentialRegistryClient(consortium.sender(consortium.governor), consortium.deployment)
    for account in (issuer, consortium.quality):
        for kind in (CALIBRATION, FIT_FOR_USE):
            trust.set_trusted(account.address, kind, True)
    lot = consortium.writer().create_batch(LOT)
    return Registry(consortium, issuer, lot)


def test_the_deployment_holds_the_registry_as_its_fifth_contract(consortium):
    assert list(consortium.deployment.addresses) == [
        "Membership",
        "ProvenanceLedger",
        "DeviceRegistry",
        "ColdChainCompliance",
        "CredentialRegistry",
        "AccessTrail",
    ]
    consortium.deployment.check_chain(consortium.w3)


def test_anchor_stores_the_credential_and_reads_valid(registry):
    receipt = registry.issuer.anchor(
        vc(1),
        type_name=FIT_FOR_USE,
        subject_did=LOT_DID,
        valid_until=4_000_000_000,
        suspends_with_batch=registry.lot,
    )
    stored = registry.outsider.credential(vc(1))
    assert stored is not None
    assert stored.issuer == registry.issuer_account.address
    assert stored.type_hash == type_hash(FIT_FOR_USE) == keccak(text=FIT_FOR_USE)
    assert stored.subject_hash == subject_hash(LOT_DID)
    assert stored.anchored_at == registry.block_time(receipt.block_number)
    assert stored.valid_until == 4_000_000_000
    assert stored.suspends_with_batch == registry.lot
    assert not stored.revoked and not stored.suspended
    assert registry.outsider.status(vc(1)) is CredentialStatus.VALID


def test_unknown_credential_reads_none(registry):
    assert registry.outsider.credential(vc(404)) is None
    assert registry.outsider.status(vc(404)) is CredentialStatus.NONE


def test_anchor_without_a_subject_or_expiry(registry):
    registry.issuer.anchor(vc(1), type_name=CALIBRATION)
    stored = registry.issuer.credential(vc(1))
    assert stored is not None
    assert (stored.subject_hash, stored.valid_until, stored.suspends_with_batch) == (
        None,
        None,
        None,
    )


def test_unauthorized_anchor_raises_the_decoded_error_and_changes_nothing(registry):
    outsider = registry.consortium.outsider.address
    nonce_before = registry.consortium.w3.eth.get_transaction_count(outsider)
    with pytest.raises(ContractRevert) as info:
        registry.outsider.anchor(vc(1), type_name=CALIBRATION, subject_did=LOT_DID)
    assert info.value.error == "MembershipUnauthorizedAccount"
    assert info.value.error_args == {"account": outsider, "role": "ISSUER_ROLE"}
    assert "CredentialRegistry.anchor" in str(info.value)
    assert registry.consortium.w3.eth.get_transaction_count(outsider) == nonce_before
    assert registry.outsider.status(vc(1)) is CredentialStatus.NONE


def test_anchor_refusals_are_the_registry_custom_errors(registry):
    registry.issuer.anchor(vc(1), type_name=CALIBRATION)
    with pytest.raises(ContractRevert) as info:
        registry.other_issuer.anchor(vc(1), type_name=FIT_FOR_USE)
    assert info.value.error == "CredentialRegistryAlreadyAnchored"
    assert info.value.error_args == {
        "credentialHash": "0x" + vc(1).hex(),
        "issuer": registry.issuer_account.address,
    }
    unknown = keccak(text="https://id.gs1.org/01/09506000134352/10/NOPE")
    with pytest.raises(ContractRevert) as info:
        registry.issuer.anchor(vc(2), type_name=CALIBRATION, suspends_with_batch=unknown)
    assert info.value.error == "CredentialRegistryUnknownBatch"
    assert info.value.error_args == {"batchId": "0x" + unknown.hex()}


def test_an_issuer_off_the_trust_list_for_the_type_cannot_anchor(registry):
    # Signed while trusted, or dated so: once off the list, the issuer anchors nothing.
    governor = registry.client(registry.consortium.governor)
    governor.set_trusted(registry.issuer_account.address, CALIBRATION, False)

    for kind in (CALIBRATION, QUALIFICATION):
        with pytest.raises(ContractRevert) as info:
            registry.issuer.anchor(vc(1), type_name=kind, subject_did=LOT_DID)
        assert info.value.error == "CredentialRegistryIssuerNotTrusted"
        assert info.value.error_args == {
            "issuer": registry.issuer_account.address,
            "typeHash": "0x" + type_hash(kind).hex(),
        }
    assert registry.outsider.status(vc(1)) is CredentialStatus.NONE


def test_a_governor_revokes_and_suspends_what_a_pulled_issuer_no_longer_can(registry):
    registry.issuer.anchor(vc(1), type_name=CALIBRATION)
    registry.issuer.anchor(vc(2), type_name=CALIBRATION)
    registry.consortium.membership().revoke_role(Role.ISSUER, registry.issuer_account.address)
    with pytest.raises(ContractRevert, match="MembershipUnauthorizedAccount"):
        registry.issuer.revoke(vc(1), "key compromised")
    with pytest.raises(ContractRevert, match="GOVERNOR_ROLE"):
        registry.other_issuer.governor_revoke(vc(1), "not a governor")
    governor = registry.client(registry.consortium.governor)

    receipt = governor.governor_revoke(vc(1), "issuer key compromised")
    governor.governor_suspend(vc(2), "issuer under investigation")

    (event,) = governor.contract.events.CredentialRevoked().process_receipt({"logs": receipt.logs})
    assert event["args"]["by"] == registry.consortium.governor.address
    assert event["args"]["reason"] == "issuer key compromised"
    assert registry.outsider.status_many([vc(1), vc(2)]) == [
        CredentialStatus.REVOKED,
        CredentialStatus.SUSPENDED,
    ]
    stored = registry.outsider.credential(vc(2))
    assert stored.suspended_by_governor and not stored.suspended
    governor.governor_unsuspend(vc(2), "cleared")
    assert registry.outsider.status(vc(2)) is CredentialStatus.VALID


def test_revoke_by_anyone_but_the_issuer_is_refused(registry):
    registry.issuer.anchor(vc(1), type_name=CALIBRATION)
    with pytest.raises(ContractRevert) as info:
        registry.other_issuer.revoke(vc(1), "not mine")
    assert info.value.error == "CredentialRegistryNotIssuer"
    assert info.value.error_args["account"] == registry.consortium.quality.address
    with pytest.raises(ContractRevert) as info:
        registry.outsider.revoke(vc(1), "not mine")
    assert info.value.error == "MembershipUnauthorizedAccount"
    assert registry.outsider.status(vc(1)) is CredentialStatus.VALID

    registry.issuer.revoke(vc(1), "key compromised")
    assert registry.outsider.status(vc(1)) is CredentialStatus.REVOKED
    with pytest.raises(ContractRevert) as info:
        registry.issuer.unsuspend(vc(1), "revocation is final")
    assert info.value.error == "CredentialRegistryRevoked"


def test_suspend_and_unsuspend_by_the_issuer(registry):
    registry.issuer.anchor(vc(1), type_name=CALIBRATION)
    with pytest.raises(ContractRevert, match="CredentialRegistryNotIssuer"):
        registry.other_issuer.suspend(vc(1), "not mine")
    registry.issuer.suspend(vc(1), "recalibration due")
    assert registry.outsider.status(vc(1)) is CredentialStatus.SUSPENDED
    assert registry.outsider.credential(vc(1)).suspended
    with pytest.raises(ContractRevert, match="CredentialRegistryAlreadySuspended"):
        registry.issuer.suspend(vc(1), "again")
    registry.issuer.unsuspend(vc(1), "recalibrated")
    assert registry.outsider.status(vc(1)) is CredentialStatus.VALID


def test_quarantine_and_release_of_the_lot_flip_the_credential_status(registry):
    quality = registry.consortium.writer(registry.consortium.quality)
    registry.issuer.anchor(
        vc(1), type_name=FIT_FOR_USE, subject_did=LOT_DID, suspends_with_batch=registry.lot
    )
    registry.issuer.anchor(vc(2), type_name=CALIBRATION)

    quality.quarantine(registry.lot, "temperature excursion")
    assert registry.outsider.status(vc(1)) is CredentialStatus.SUSPENDED
    assert registry.outsider.credential(vc(1)).suspended is False  # no write to the credential
    assert registry.outsider.status(vc(2)) is CredentialStatus.VALID

    quality.release(registry.lot, "inspected, fit for use")
    assert registry.outsider.status(vc(1)) is CredentialStatus.VALID

    quality.recall(registry.lot, "supplier recall")
    assert registry.outsider.status(vc(1)) is CredentialStatus.SUSPENDED


def test_expired_credential_reads_expired(registry):
    now = registry.consortium.w3.eth.get_block("latest")["timestamp"]
    registry.issuer.anchor(vc(1), type_name=CALIBRATION, valid_until=now - 1)
    registry.issuer.anchor(vc(2), type_name=CALIBRATION, valid_until=now + 3600)
    assert registry.outsider.status_many([vc(1), vc(2)]) == [
        CredentialStatus.EXPIRED,
        CredentialStatus.VALID,
    ]


def test_status_many_reads_fifty_statuses_in_one_request(registry):
    issuer = registry.issuer
    for n in range(8):
        issuer.anchor(vc(n), type_name=CALIBRATION, suspends_with_batch=registry.lot)
    for n in range(8, 12):
        issuer.anchor(vc(n), type_name=CALIBRATION)
    issuer.revoke(vc(8), "revoked")
    issuer.suspend(vc(9), "suspended")
    registry.consortium.writer(registry.consortium.quality).quarantine(registry.lot, "excursion")
    hashes = [vc(n) for n in range(50)]
    expected = (
        [CredentialStatus.SUSPENDED] * 8
        + [CredentialStatus.REVOKED, CredentialStatus.SUSPENDED]
        + [CredentialStatus.VALID] * 2
        + [CredentialStatus.NONE] * 38
    )

    provider = RecordingProvider(registry.consortium.w3.provider.endpoint_uri)
    reader = CredentialRegistryClient(
        TransactionSender(Web3(provider), registry.consortium.outsider),
        registry.consortium.deployment,
    )
    provider.methods.clear()
    statuses = reader.status_many(hashes)

    assert provider.methods == ["eth_call"]
    assert statuses == expected
    assert statuses == [registry.outsider.status(h) for h in hashes]


def test_trusted_at_keeps_the_trust_history(registry):
    governor = registry.client(registry.consortium.governor)
    lab = registry.issuer_account.address
    changed_at = []
    for trusted in (True, False, True):
        registry.next_block_one_second_later()
        receipt = governor.set_trusted(lab, QUALIFICATION, trusted)
        changed_at.append(registry.block_time(receipt.block_number))
    trusted_at, untrusted_at, retrusted_at = changed_at

    reader = registry.outsider
    assert not reader.trusted_at(lab, QUALIFICATION, trusted_at - 1)
    assert reader.trusted_at(lab, QUALIFICATION, trusted_at)
    assert not reader.trusted_at(lab, QUALIFICATION, untrusted_at)
    assert reader.trusted_at(lab, QUALIFICATION, retrusted_at)
    assert reader.trusted(lab, QUALIFICATION)
    assert not reader.trusted(lab, COMPLIANCE)

    with pytest.raises(ContractRevert) as info:
        registry.issuer.set_trusted(lab, COMPLIANCE, True)
    assert info.value.error_args["role"] == "GOVERNOR_ROLE"
    with pytest.raises(ContractRevert, match="CredentialRegistryTrustUnchanged"):
        governor.set_trusted(lab, QUALIFICATION, True)


def test_bind_subject_binds_asset_and_person_dids_once(registry):
    operator = registry.client(registry.consortium.operator)
    operator.bind_subject(LOT_DID, registry.lot)
    assert registry.outsider.bound_entity(LOT_DID) == SubjectBinding(
        entity_id=registry.lot, bound_by=registry.consortium.operator.address
    )
    assert registry.outsider.bound_entity(PERSON_DID) is None

    with pytest.raises(ContractRevert) as info:
        operator.bind_subject(LOT_DID, registry.lot)
    assert info.value.error == "CredentialRegistrySubjectAlreadyBound"

    lab = registry.issuer_account.address
    with pytest.raises(ContractRevert, match="CredentialRegistryUnknownEntity"):
        operator.bind_subject(PERSON_DID, organization_entity_id(lab))
    registry.consortium.membership().register_organization(
        lab, did=f"did:pkh:eip155:31337:{lab}", name="Calibration Lab"
    )
    with pytest.raises(ContractRevert) as refusal:
        operator.bind_subject(PERSON_DID, organization_entity_id(lab))
    assert refusal.value.error == "CredentialRegistryNotEntityOwner"
    assert registry.outsider.bound_entity(PERSON_DID) is None
    # An organization binds only its own people's DIDs.
    registry.consortium.membership().grant_role(Role.OPERATOR, lab)
    registry.issuer.bind_subject(PERSON_DID, organization_entity_id(lab))
    assert registry.outsider.bound_entity(PERSON_DID).entity_id == organization_entity_id(lab)
    registry.consortium.membership().revoke_role(Role.OPERATOR, lab)

    with pytest.raises(ContractRevert, match="OPERATOR_ROLE"):
        registry.issuer.bind_subject("did:key:z6MkOther", registry.lot)


def test_only_a_governor_corrects_a_binding(registry):
    """The operator bound the lot's DID to the wrong lot; `bind_subject` never rebinds, and
    only a governor's `correct_binding` moves it, refused for everyone else with nothing changed."""
    c = registry.consortium
    operator = registry.client(c.operator)
    right_lot = c.writer().create_batch("https://id.gs1.org/01/09506000134352/10/LOT-43")
    operator.bind_subject(LOT_DID, registry.lot)
    mistaken = SubjectBinding(entity_id=registry.lot, bound_by=c.operator.address)

    with pytest.raises(ContractRevert) as refusal:
        operator.bind_subject(LOT_DID, right_lot)
    assert refusal.value.error == "CredentialRegistrySubjectAlreadyBound"
    for account in (c.operator, c.quality, registry.issuer_account, c.outsider):
        with pytest.raises(ContractRevert) as refusal:
            registry.client(account).correct_binding(LOT_DID, right_lot)
        assert refusal.value.error == "MembershipUnauthorizedAccount"
        assert refusal.value.error_args == {"account": account.address, "role": "GOVERNOR_ROLE"}
        assert registry.outsider.bound_entity(LOT_DID) == mistaken

    governor = registry.client(c.governor)
    with pytest.raises(ContractRevert) as refusal:
        governor.correct_binding("", right_lot)
    assert refusal.value.error == "CredentialRegistryInvalidDid"
    unknown = keccak(text="no such lot")
    with pytest.raises(ContractRevert) as refusal:
        governor.correct_binding(LOT_DID, unknown)
    assert refusal.value.error == "CredentialRegistryUnknownEntity"
    assert refusal.value.error_args == {"entityId": "0x" + unknown.hex()}
    assert registry.outsider.bound_entity(LOT_DID) == mistaken

    governor.correct_binding(LOT_DID, right_lot)
    assert registry.outsider.bound_entity(LOT_DID) == SubjectBinding(
        entity_id=right_lot, bound_by=c.governor.address
    )
    # A DID never bound may be bound by the correction too, to a registered organization.
    lab = registry.issuer_account.address
    c.membership().register_organization(lab, did=f"did:pkh:eip155:31337:{lab}", name="Lab")
    governor.correct_binding(PERSON_DID, organization_entity_id(lab))
    assert registry.outsider.bound_entity(PERSON_DID) == SubjectBinding(
        entity_id=organization_entity_id(lab), bound_by=c.governor.address
    )


def test_the_registry_view_reads_without_an_account_and_in_one_batch_as_one_at_a_time(
    registry, monkeypatch
):
    registry.issuer.anchor(vc(0), type_name=FIT_FOR_USE, subject_did=LOT_DID)
    registry.client(registry.consortium.operator).bind_subject(LOT_DID, registry.lot)
    c = registry.consortium
    view = CredentialRegistryView(c.w3, c.deployment)
    batch = ReadBatch()
    for digest in (vc(0), vc(1)):
        batch.add(view.credential_read(digest))
    for did in (LOT_DID, PERSON_DID):
        batch.add(view.bound_entity_read(did))
    batch.add(view.status_many_read([vc(0), vc(1)]))
    requests = []
    send = c.w3.provider.make_batch_request
    monkeypatch.setattr(
        c.w3.provider, "make_batch_request", lambda calls: requests.append(calls) or send(calls)
    )

    results = batch.run(c.w3)

    assert len(requests) == 1
    assert results == [
        view.credential(vc(0)),
        None,
        SubjectBinding(entity_id=registry.lot, bound_by=c.operator.address),
        None,
        [CredentialStatus.VALID, CredentialStatus.NONE],
    ]
    assert results[0] == registry.outsider.credential(vc(0))
    assert results[0].issuer == registry.issuer_account.address
    assert view.bound_entity(LOT_DID) == results[2]
