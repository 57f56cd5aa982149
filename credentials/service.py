"""Issuing with anchoring, and revoking: what an issuer organization does, in one call each.

The issuer's chain account is its DID (DESIGN §3), so the registry client must send from
the signer's own account: CredentialRegistry records `msg.sender` as the issuer, and a
verifier checks that it is the VC's issuer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from eth_utils import to_checksum_address

from credentials import didkit_adapter
from credentials.engine import ProofEngine
from credentials.errors import CredentialError
from credentials.identities import Signer, pkh_did
from credentials.issue import credential_hash, issue
from credentials.registry import CredentialRegistryClient
from credentials.store import CredentialStore
from credentials.types import CredentialType, parse_instant
from ledger_client.identifiers import DigitalLink
from ledger_client.transactions import Receipt


def issue_and_anchor(
    *,
    registry: CredentialRegistryClient,
    signer: Signer,
    credential_type: CredentialType | str,
    subject_did: str,
    claims: Mapping[str, Any],
    expiration_date: datetime | None = None,
    suspends_with_batch: bytes | None = None,
    store: CredentialStore | None = None,
    issuance_date: datetime | None = None,
    engine: ProofEngine = didkit_adapter,
) -> dict[str, Any]:
    """Issue a credential (see `issue.issue`), anchor its hash with its type, subject and
    expiry (`validUntil` = expirationDate), and keep it in `store`; returns the signed VC.

    While ledger batch `suspends_with_batch` is quarantined or recalled the credential reads
    SUSPENDED. A FitForUse is always tied to the batch of its claims' `lot` (verifiers
    require it), so it needs no `suspends_with_batch`. `issuance_date` defaults to now; a
    verifier accepts the anchor only within an hour after it (`verify.ANCHOR_DELAY_LIMIT_S`).

    Raises:
        CredentialError: the registry client does not send from the signer's account
            (nothing is signed or sent); a FitForUse given another batch than its lot's
            (nothing is sent); or what `issue` raises.
        ContractRevert: the registry refused the anchor (e.g. the sender lacks
            ISSUER_ROLE); nothing is stored.
    """
    _require_sender_is(registry, signer.did)
    vc = issue(
        credential_type=credential_type,
        subject_did=subject_did,
        claims=claims,
        signer=signer,
        issuance_date=issuance_date,
        expiration_date=expiration_date,
        engine=engine,
    )
    if vc["type"][1] == CredentialType.FIT_FOR_USE.value:
        suspends_with_batch = _lot_batch(vc, suspends_with_batch)
    expires = vc.get("expirationDate")
    receipt = registry.anchor(
        credential_hash(vc),
        type_name=vc["type"][1],
        subject_did=subject_did,
        valid_until=int(parse_instant(expires).timestamp()) if expires is not None else None,
        suspends_with_batch=suspends_with_batch,
    )
    if store is not None:
        store.add(vc, anchor_tx=receipt.tx_hash)
    return vc


def revoke_credential(
    *,
    registry: CredentialRegistryClient,
    vc_or_hash: Mapping[str, Any] | bytes | str,
    reason: str,
    store: CredentialStore | None = None,
) -> Receipt:
    """Revoke a credential for good, given as the signed VC, its 32-byte hash or `0x` + 64
    hex digits. The registry client must send from the credential's issuer account: from
    the VC's issuer DID, else from the stored VC (`store`), else from the anchor record.

    Raises:
        CredentialError: the hash is malformed, the credential was never anchored, or the
            sender is not its issuer (nothing is sent).
        ContractRevert: the registry refused (e.g. it is revoked already).
    """
    if not reason:
        raise CredentialError("give the reason for the revocation; it is recorded on chain")
    return registry.revoke(_issued_by_sender(registry, vc_or_hash, store), reason)


def suspend_credential(
    *,
    registry: CredentialRegistryClient,
    vc_or_hash: Mapping[str, Any] | bytes | str,
    reason: str,
    suspended: bool,
    store: CredentialStore | None = None,
) -> Receipt:
    """As its issuer, suspend a credential (`suspended`) or lift the issuer's own suspension;
    given and checked as `revoke_credential` does.

    Raises:
        CredentialError: no reason, the hash is malformed, the credential was never
            anchored, or the sender is not its issuer (nothing is sent).
        ContractRevert: the registry refused (e.g. suspended already, or revoked).
    """
    if not reason:
        raise CredentialError("give the reason for the suspension; it is recorded on chain")
    digest = _issued_by_sender(registry, vc_or_hash, store)
    return (registry.suspend if suspended else registry.unsuspend)(digest, reason)


def _issued_by_sender(
    registry: CredentialRegistryClient,
    vc_or_hash: Mapping[str, Any] | bytes | str,
    store: CredentialStore | None,
) -> bytes:
    """The credential's hash, once its issuer is known to be the registry client's sender:
    from the VC's issuer DID, else from the stored VC (`store`), else from the anchor record."""
    vc, digest = _resolve(vc_or_hash, store)
    if vc is not None:
        _require_sender_is(registry, vc.get("issuer"))
        return digest
    anchored = registry.credential(digest)
    if anchored is None:
        raise CredentialError(
            f"credential 0x{digest.hex()} was never anchored on chain "
            f"{registry.sender.chain_id}; check the hash"
        )
    issuer = pkh_did(chain_id=registry.sender.chain_id, address=anchored.issuer)
    _require_sender_is(registry, issuer)
    return digest


def _lot_batch(vc: Mapping[str, Any], given: bytes | None) -> bytes:
    """The batch id of a FitForUse's lot, which `given` (if any) must be."""
    lot = DigitalLink.parse(vc["credentialSubject"]["lot"])
    if given is not None and given != lot.batch_id:
        raise CredentialError(
            f"a FitForUse suspends with its own lot {lot.uri} (batch 0x{lot.batch_id.hex()}), "
            f"not batch 0x{given.hex()}; leave the batch out"
        )
    return lot.batch_id


def _resolve(
    vc_or_hash: Mapping[str, Any] | bytes | str, store: CredentialStore | None
) -> tuple[Mapping[str, Any] | None, bytes]:
    if isinstance(vc_or_hash, Mapping):
        return vc_or_hash, credential_hash(vc_or_hash)
    digest = vc_or_hash
    if isinstance(digest, str):
        try:
            digest = bytes.fromhex(digest.removeprefix("0x"))
        except ValueError:
            digest = b""
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise CredentialError(
            f"{vc_or_hash!r} is not a credential hash: give 32 bytes or 0x and 64 hex digits"
        )
    return (store.get(digest) if store is not None else None), digest


def _require_sender_is(registry: CredentialRegistryClient, issuer: object) -> None:
    """Refuse unless the registry client sends from the account of did:pkh `issuer`."""
    sender = to_checksum_address(registry.sender.account.address)
    chain_id = registry.sender.chain_id
    expected = pkh_did(chain_id=chain_id, address=sender)
    if issuer != expected:
        raise CredentialError(
            f"the registry client sends from {sender} ({expected}) but the credential's "
            f"issuer is {issuer}: CredentialRegistry records the sender as the issuer, so "
            "send from the issuer's own account on this chain"
        )
