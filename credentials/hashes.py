"""The on-chain names of what CredentialRegistry stores: credential types, subjects, entities."""

from __future__ import annotations

from eth_utils import keccak, to_canonical_address


def type_hash(type_name: str) -> bytes:
    """A credential type's on-chain id: keccak256 of its name ("CalibrationCertificate"), UTF-8."""
    return keccak(text=type_name)


def subject_hash(did: str) -> bytes:
    """A subject's on-chain id: keccak256 of its DID string, UTF-8."""
    return keccak(text=did)


def organization_entity_id(account: str) -> bytes:
    """The entity id a person's DID is bound to: its organization's address, left-padded to
    32 bytes (`bytes32(uint256(uint160(org)))`)."""
    return bytes(12) + to_canonical_address(account)
