"""issue_and_anchor and revoke_credential against a real anvil: what goes on chain and into
the store, and the refusals that happen before anything is signed or sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from credentials.errors import CredentialError, InvalidClaims
from credentials.hashes import subject_hash, type_hash
from credentials.identities import Signer, account_signer, mint_asset_did
from credentials.issue import credential_hash
from credentials.registry import CredentialRegistryClient, CredentialStatus
from credentials.service import issue_and_anchor, revoke_credential
from credentials.types import CredentialType
from ledger_client.errors import ContractRevert
from ledger_client.identifiers import DigitalLink
from ledger_client.roles import Role
from tests.credentials.credential_factories import claims
from tests.factories import ANVIL_KEYS, Consortium, make_consortium

pytestmark = pytest.mark.integration

LOT = DigitalLink.lot("09506000134352", "SERVICE-1")
FIT_FOR_USE = CredentialType.FIT_FOR_USE


@dataclass
class Issuing:
    consortium: Consortium
    issuer_account: LocalAccount
    issuer: Signer
    asset: str

    def registry(self, account: LocalAccount | None = None) -> CredentialRegistryClient:
        c = self.consortium
        return CredentialRegistryClient(c.sender(account or self.issuer_account), c.deployment)

    def nonce(self, account: LocalAccount) -> int:
        return self.consortium.w3.eth.get_transaction_count(account.address)

    def issue(self, **options) -> dict:
        options.setdefault("claims", {"lot": LOT.uri})
        return issue_and_anchor(
            registry=self.registry(),
            signer=self.issuer,
            credential_type=FIT_FOR_USE,
            subject_did=self.asset,
            **options,
        )


@pytest.fixture(scope="module")
def issuing(w3) -> Issuing:
    c = make_consortium(w3)
    account = Account.from_key(ANVIL_KEYS[5])
    c.membership().grant_role(Role.ISSUER, account.address)
    CredentialRegistryClient(c.sender(c.governor), c.deployment).set_trusted(
        account.address, FIT_FOR_USE.value, True
    )
    c.writer().create_batch(LOT.uri)
    return Issuing(
        consortium=c,
        issuer_account=account,
        issuer=account_signer(account.key, chain_id=c.deployment.chain_id),
        asset=mint_asset_did().did,
    )


def test_issue_and_anchor_anchors_the_hash_and_stores_the_credential(issuing, store):
    expires = datetime(2027, 6, 30, 12, 0, 0, tzinfo=UTC)
    batch_id = LOT.batch_id

    vc = issuing.issue(expiration_date=expires, suspends_with_batch=batch_id, store=store)

    digest = credential_hash(vc)
    anchored = issuing.registry().credential(digest)
    assert anchored is not None
    assert anchored.issuer == issuing.issuer_account.address
    assert anchored.type_hash == type_hash("FitForUse")
    assert anchored.subject_hash == subject_hash(issuing.asset)
    assert anchored.valid_until == int(expires.timestamp())
    assert anchored.suspends_with_batch == batch_id
    assert vc["issuer"] == issuing.issuer.did
    assert vc["expirationDate"] == "2027-06-30T12:00:00Z"
    assert store.get(digest) == vc
    assert store.anchor_tx(digest).startswith("0x")
    receipt = issuing.consortium.w3.eth.get_transaction_receipt(store.anchor_tx(digest))
    assert receipt["status"] == 1


def test_without_an_expiration_date_the_anchor_has_no_expiry(issuing):
    vc = issuing.issue()
    assert "expirationDate" not in vc
    assert issuing.registry().credential(credential_hash(vc)).valid_until is None


def test_a_registry_sending_from_another_account_is_refused_before_signing(issuing, store):
    other = issuing.consortium.quality
    nonce = issuing.nonce(other)

    with pytest.raises(CredentialError, match="send from the issuer's own account"):
        issue_and_anchor(
            registry=issuing.registry(other),
            signer=issuing.issuer,
            credential_type=FIT_FOR_USE,
            subject_did=issuing.asset,
            claims={"lot": LOT.uri},
            store=store,
        )

    assert issuing.nonce(other) == nonce
    assert store.all() == []


def test_refused_claims_and_anchors_store_nothing(issuing, store):
    nonce = issuing.nonce(issuing.issuer_account)
    with pytest.raises(InvalidClaims):
        issuing.issue(store=store, claims=claims(CredentialType.CALIBRATION_CERTIFICATE))
    assert issuing.nonce(issuing.issuer_account) == nonce

    unknown_lot = DigitalLink.lot("09506000134352", "NOT-CREATED")
    with pytest.raises(ContractRevert, match="CredentialRegistryUnknownBatch"):
        issuing.issue(store=store, claims={"lot": unknown_lot.uri})
    assert store.all() == []


def test_a_fit_for_use_is_tied_to_its_own_lot_only(issuing, store):
    vc = issuing.issue(store=store)
    anchored = issuing.registry().credential(credential_hash(vc))
    assert anchored is not None and anchored.suspends_with_batch == LOT.batch_id

    nonce = issuing.nonce(issuing.issuer_account)
    other_lot = DigitalLink.lot("09506000134352", "SERVICE-2").batch_id
    with pytest.raises(CredentialError, match="suspends with its own lot"):
        issuing.issue(store=store, suspends_with_batch=other_lot)
    assert issuing.nonce(issuing.issuer_account) == nonce
    assert len(store.all()) == 1


@pytest.mark.parametrize("given_as", ["vc", "bytes", "hex", "hex via store"])
def test_revoke_credential_by_vc_or_hash(issuing, store, given_as):
    vc = issuing.issue(store=store)
    digest = credential_hash(vc)
    target = {
        "vc": vc,
        "bytes": digest,
        "hex": "0x" + digest.hex(),
        "hex via store": digest.hex(),
    }[given_as]

    receipt = revoke_credential(
        registry=issuing.registry(),
        vc_or_hash=target,
        reason="sample contaminated",
        store=store if given_as == "hex via store" else None,
    )

    assert receipt.block_number > 0
    assert issuing.registry().status(digest) is CredentialStatus.REVOKED


def test_revoke_credential_refusals_send_nothing(issuing, store):
    vc = issuing.issue(store=store)
    digest = credential_hash(vc)
    other = issuing.consortium.quality
    nonce = issuing.nonce(other)

    for target, use_store in ((vc, False), (digest, False), (digest, True)):
        with pytest.raises(CredentialError, match="send from the issuer's own account"):
            revoke_credential(
                registry=issuing.registry(other),
                vc_or_hash=target,
                reason="not mine",
                store=store if use_store else None,
            )
    with pytest.raises(CredentialError, match="never anchored"):
        revoke_credential(registry=issuing.registry(), vc_or_hash=b"\x07" * 32, reason="x")
    with pytest.raises(CredentialError, match="not a credential hash"):
        revoke_credential(registry=issuing.registry(), vc_or_hash="0x1234", reason="x")
    with pytest.raises(CredentialError, match="reason"):
        revoke_credential(registry=issuing.registry(), vc_or_hash=vc, reason="")

    assert issuing.nonce(other) == nonce
    assert issuing.registry().status(digest) is CredentialStatus.VALID


def test_issuance_date_is_kept_to_the_second(issuing):
    moment = datetime.now(UTC).replace(microsecond=123456) - timedelta(seconds=5)
    vc = issuing.issue(issuance_date=moment)
    assert vc["issuanceDate"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
