"""Typed wrappers of CredentialRegistry: anchoring, revocation, suspension, trust list,
subjects.

Credential types and subject DIDs are passed by name; the wrappers hash them as the
contract stores them (`credentials.hashes`). `CredentialRegistryView` reads (also as reads
to send in a batch, for the verifier); `CredentialRegistryClient` writes as well, and a
refused write raises the contract's custom error as a `ledger_client.errors.ContractRevert`
subclass before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from credentials.hashes import subject_hash, type_hash
from ledger_client.contract_client import ContractClient
from ledger_client.contract_view import ContractView
from ledger_client.reads import Read, read
from ledger_client.transactions import Receipt

_NONE = b"\x00" * 32
_STATUS_MANY = function_signature_to_4byte_selector("statusMany(bytes32[])")


class CredentialStatus(IntEnum):
    """`ICredentialRegistry.CredentialStatus`: REVOKED wins, then EXPIRED, then SUSPENDED."""

    NONE = 0
    VALID = 1
    REVOKED = 2
    SUSPENDED = 3
    EXPIRED = 4


@dataclass(frozen=True)
class AnchoredCredential:
    """A credential as anchored on chain. `suspended` is its issuer's own suspension,
    `suspended_by_governor` a governor's; a quarantine of `suspends_with_batch` shows in
    `CredentialRegistryClient.status` only."""

    credential_hash: bytes
    issuer: str
    type_hash: bytes
    subject_hash: bytes | None
    anchored_at: int
    valid_until: int | None
    suspends_with_batch: bytes | None
    revoked: bool
    suspended: bool
    suspended_by_governor: bool


@dataclass(frozen=True)
class SubjectBinding:
    entity_id: bytes
    bound_by: str


class CredentialRegistryView(ContractView):
    """Anchored credentials, their status, the trust list and subject bindings; anyone
    reads them."""

    name = "CredentialRegistry"

    def credential(self, credential_hash: bytes) -> AnchoredCredential | None:
        """The anchored credential; None when `credential_hash` was never anchored."""
        return anchored_credential(
            credential_hash, self.contract.functions.credential(credential_hash).call()
        )

    def credential_read(self, credential_hash: bytes) -> Read[AnchoredCredential | None]:
        """`credential(credential_hash)` as a read to send in a batch."""
        call = self._function("credential").read(credential_hash)
        return call.then(lambda outputs: anchored_credential(credential_hash, outputs[0]))

    def status(self, credential_hash: bytes) -> CredentialStatus:
        return CredentialStatus(self.contract.functions.status(credential_hash).call())

    def status_many(self, credential_hashes: Sequence[bytes]) -> list[CredentialStatus]:
        """The status of each credential, in order, read in one JSON-RPC request."""
        # A raw `eth_call`: web3's call would add its own eth_chainId round trip.
        return read(self.w3, self.status_many_read(credential_hashes))

    def status_many_read(self, credential_hashes: Sequence[bytes]) -> Read[list[CredentialStatus]]:
        """`status_many(credential_hashes)` as a read to send in a batch; encoded by hand, as
        it is the one call of a warm verification."""
        data = "0x" + (_STATUS_MANY + encode(["bytes32[]"], [list(credential_hashes)])).hex()
        return Read("eth_call", [{"to": self.address, "data": data}, "latest"], _statuses)

    def trusted(self, issuer: str, type_name: str) -> bool:
        """Whether `issuer` is on the trust list for `type_name` now."""
        return self.contract.functions.trusted(
            Web3.to_checksum_address(issuer), type_hash(type_name)
        ).call()

    def trusted_at(self, issuer: str, type_name: str, timestamp: int) -> bool:
        """Whether `issuer` was on the trust list for `type_name` at Unix time `timestamp`."""
        return self.contract.functions.trustedAt(
            Web3.to_checksum_address(issuer), type_hash(type_name), timestamp
        ).call()

    def bound_entity(self, did: str) -> SubjectBinding | None:
        """The ledger entity `did` is bound to; None when it is unbound."""
        return _binding(self.contract.functions.boundEntity(subject_hash(did)).call())

    def bound_entity_read(self, did: str) -> Read[SubjectBinding | None]:
        """`bound_entity(did)` as a read to send in a batch."""
        return self._function("boundEntity").read(subject_hash(did)).then(_binding)


class CredentialRegistryClient(CredentialRegistryView, ContractClient):
    """Writes with the sender's roles (a trusted ISSUER anchors, revokes and suspends its own
    credentials; GOVERNOR keeps the trust list, may revoke or suspend any credential and
    corrects bindings; OPERATOR binds subjects); reads as `CredentialRegistryView` does."""

    def anchor(
        self,
        credential_hash: bytes,
        *,
        type_name: str,
        subject_did: str | None = None,
        valid_until: int | None = None,
        suspends_with_batch: bytes | None = None,
    ) -> Receipt:
        """Anchor the credential whose VC hashes to `credential_hash`, issued by the sender,
        which must be on the trust list for `type_name` now.

        `valid_until` is a Unix time (None: no expiry); while ledger batch
        `suspends_with_batch` is quarantined or recalled the credential reads SUSPENDED.
        """
        return self._write(
            "anchor",
            credential_hash,
            type_hash(type_name),
            subject_hash(subject_did) if subject_did is not None else _NONE,
            valid_until or 0,
            suspends_with_batch or _NONE,
        )

    def revoke(self, credential_hash: bytes, reason: str) -> Receipt:
        """Revoke for good; only the credential's issuer may."""
        return self._write("revoke", credential_hash, reason)

    def suspend(self, credential_hash: bytes, reason: str) -> Receipt:
        return self._write("suspend", credential_hash, reason)

    def unsuspend(self, credential_hash: bytes, reason: str) -> Receipt:
        return self._write("unsuspend", credential_hash, reason)

    def governor_revoke(self, credential_hash: bytes, reason: str) -> Receipt:
        """Revoke any credential for good, as a governor (e.g. its issuer's key leaked)."""
        return self._write("governorRevoke", credential_hash, reason)

    def governor_suspend(self, credential_hash: bytes, reason: str) -> Receipt:
        """Suspend any credential, as a governor, until a governor lifts it."""
        return self._write("governorSuspend", credential_hash, reason)

    def governor_unsuspend(self, credential_hash: bytes, reason: str) -> Receipt:
        """Lift a governor's suspension (the issuer's own, if any, stays)."""
        return self._write("governorUnsuspend", credential_hash, reason)

    def set_trusted(self, issuer: str, type_name: str, trusted: bool) -> Receipt:
        """Put `issuer` on (or take it off) the trust list for `type_name`, from now on."""
        return self._write(
            "setTrusted", Web3.to_checksum_address(issuer), type_hash(type_name), trusted
        )

    def bind_subject(self, did: str, entity_id: bytes) -> Receipt:
        """Bind `did` for good to a ledger batch id (an asset's DID) or to
        `organization_entity_id(org)` (a person's DID)."""
        return self._write("bindSubject", did, entity_id)

    def correct_binding(self, did: str, entity_id: bytes) -> Receipt:
        """As a governor: bind `did` to `entity_id` (a ledger batch id or
        `organization_entity_id(org)` of a registered organization) whether or not it was bound,
        to correct a mistaken binding, which `bind_subject` never changes. Refused for anyone
        else (`MembershipUnauthorizedAccount`), an empty DID (`CredentialRegistryInvalidDid`) and
        an unknown entity (`CredentialRegistryUnknownEntity`)."""
        return self._write("correctBinding", did, entity_id)


def anchored_credential(digest: bytes, record: Sequence) -> AnchoredCredential | None:
    """The anchor of credential `digest` from the fields of `CredentialRegistry.credential`'s
    result (None: never anchored)."""
    (
        issuer,
        type_id,
        subject_id,
        anchored_at,
        valid_until,
        batch_id,
        revoked,
        suspended,
        suspended_by_governor,
    ) = record
    if not anchored_at:
        return None
    return AnchoredCredential(
        credential_hash=digest,
        issuer=Web3.to_checksum_address(issuer),
        type_hash=type_id,
        subject_hash=subject_id if subject_id != _NONE else None,
        anchored_at=anchored_at,
        valid_until=valid_until or None,
        suspends_with_batch=batch_id if batch_id != _NONE else None,
        revoked=revoked,
        suspended=suspended,
        suspended_by_governor=suspended_by_governor,
    )


def _statuses(result: str) -> list[CredentialStatus]:
    (statuses,) = decode(["uint8[]"], bytes.fromhex(result.removeprefix("0x")))
    return [CredentialStatus(status) for status in statuses]


def _binding(outputs: Sequence) -> SubjectBinding | None:
    entity_id, bound_by = outputs
    if int(bound_by, 16) == 0:
        return None
    return SubjectBinding(entity_id=entity_id, bound_by=Web3.to_checksum_address(bound_by))
